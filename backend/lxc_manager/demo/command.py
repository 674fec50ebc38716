"""``lxc-manager demo [--port P]``: a simulated three-node Proxmox cluster (memory backend) and the dashboard on
embedded defaults (SQLite under ``LXCM_DATA_DIR``, jobs in-process), with the nodes registered (pinned TLS
fingerprint and SSH host key, through the nodes service), the repository's templates synced and an admin
account with a generated password. The URL and credentials are printed and written, with the simulator's
connection details, to ``$LXCM_DATA_DIR/demo.json`` (mode 0600). Both run in this process until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.core.config import Settings, get_settings
from lxc_manager.core.logging import configure_logging, get_logger

log = get_logger(__name__)

ADMIN_USERNAME = "admin"
DEMO_FILE = "demo.json"
SIM_DIR = "demo-sim"
NODE_PREFIX = "demo-"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNAVAILABLE = 2


def register(sub: Any) -> None:
    demo = sub.add_parser(
        "demo",
        help="run the dashboard with a simulated 3-node Proxmox cluster (no Proxmox needed)",
        description="Start the PVE simulator and the dashboard, register the simulated nodes, sync the templates, "
        f"create an admin and write the URL and credentials to $LXCM_DATA_DIR/{DEMO_FILE}.",
    )
    demo.add_argument("--host", default="127.0.0.1", help="dashboard address (default 127.0.0.1)")
    demo.add_argument("--port", type=int, default=8000, help="dashboard port (0 = any free port)")
    demo.add_argument("--task-duration", type=float, default=0.5, help="seconds a simulated PVE task runs")
    demo.set_defaults(func=demo_command)


def demo_settings(settings: Settings) -> Settings:
    """Embedded defaults: SQLite under the data dir, in-process jobs; the simulator listens on loopback."""
    return settings.model_copy(update={"database_url": None, "redis_url": None, "node_allow_loopback": True})


def write_private_json(path: Path, data: dict[str, Any]) -> None:
    """Atomically write ``data`` with mode 0600 (it holds credentials)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, json.dumps(data, indent=2).encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


async def _start_simulator(state_dir: Path, task_duration: float) -> tuple[asyncio.Task[None], dict[str, Any]]:
    from lxc_manager.pvesim.core import SimConfig
    from lxc_manager.pvesim.server import load_connection, serve

    config = SimConfig(nodes=3, task_duration=task_duration, auth_delay=0.0, seed=0, state_dir=state_dir)
    ready = asyncio.Event()
    task = asyncio.create_task(serve(config, "127.0.0.1", 0, 0, None, ready=ready))
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if not ready.is_set():
        waiter.cancel()
        task.result()  # raises the start-up error (e.g. the PVE schema is missing)
        raise RuntimeError("the PVE simulator stopped during start-up")
    return task, load_connection(state_dir)


async def _register_nodes(db: AsyncSession, settings: Settings, connection: dict[str, Any]) -> list[str]:
    """Create (or refresh, on a re-run) one node per simulated node through the nodes service."""
    from lxc_manager.auth.principal import ROLE_SCOPES, Principal
    from lxc_manager.models import Node, Role, User
    from lxc_manager.nodes import service as nodes
    from lxc_manager.nodes.schemas import NodeCreate, NodeUpdate

    admin = (await db.scalars(select(User).where(User.username == ADMIN_USERNAME))).one()
    principal = Principal(user=admin, via="session", scopes=ROLE_SCOPES[Role.admin])
    ssh = connection["ssh"]
    private_key = SecretStr(await asyncio.to_thread(Path(ssh["private_key_path"]).read_text))
    names = []
    for pve_node in connection["nodes"]:
        fields: dict[str, Any] = {
            "api_url": connection["url"],
            "pve_node": pve_node,
            "token_id": connection["token_id"],
            "token_secret": SecretStr(connection["token_secret"]),
            "tls_mode": "fingerprint",
            "tls_fingerprint": connection["fingerprint"],
            "ssh_host": ssh["nodes"][pve_node]["host"],
            "ssh_port": ssh["nodes"][pve_node]["port"],
            "ssh_user": ssh["user"],
            "ssh_private_key": private_key,
            "ssh_host_key": ssh["host_public_key"],
        }
        name = f"{NODE_PREFIX}{pve_node}"
        existing = (await db.scalars(select(Node).where(Node.name == name))).one_or_none()
        if existing is None:
            await nodes.create_node(db, settings, principal, NodeCreate(name=name, **fields), None)
        else:
            await nodes.update_node(db, settings, principal, existing, NodeUpdate(**fields), None)
        names.append(name)
    return names


async def prepare(settings: Settings, connection: dict[str, Any], password: str) -> list[str]:
    """Migrate, create/reset the admin, register the nodes, sync the templates. Returns the node names."""
    from lxc_manager.core.db import create_engine, create_sessionmaker, unit_of_work
    from lxc_manager.core.migrate import upgrade_to_head
    from lxc_manager.templates.service import Actor, run_sync
    from lxc_manager.users.commands import create_admin

    await asyncio.to_thread(upgrade_to_head, settings.effective_database_url)
    if await create_admin(settings, ADMIN_USERNAME, password) != EXIT_OK:
        raise RuntimeError("could not create the demo admin")
    engine = create_engine(settings.effective_database_url)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as db:
            names = await _register_nodes(db, settings, connection)
        async with unit_of_work(create_sessionmaker(engine)) as db:
            report = await run_sync(db, settings, Actor(id=None, name="cli:demo"))
        for problem in report.errors:
            log.warning("demo_template_problem", problem=str(problem)[:300])
    finally:
        await engine.dispose()
    return names


async def run_demo(settings: Settings, host: str, port: int, task_duration: float) -> int:
    import uvicorn

    import lxc_manager.deployments.tasks  # noqa: F401 - registers run_deployment for the in-process queue
    from lxc_manager.main import create_app

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    sim_task, connection = await _start_simulator(settings.data_dir / SIM_DIR, task_duration)
    try:
        password = secrets.token_urlsafe(16)
        node_names = await prepare(settings, connection, password)
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host=host, port=port, log_config=None, timeout_keep_alive=5)
        )
        serve_task = asyncio.create_task(server.serve())
        while not server.started:
            if serve_task.done():
                await serve_task
                raise RuntimeError(f"the dashboard could not listen on {host}:{port}")
            await asyncio.sleep(0.05)
        bound = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://{host}:{bound}"
        demo_file = settings.data_dir / DEMO_FILE
        write_private_json(demo_file, {
            "url": url,
            "admin": {"username": ADMIN_USERNAME, "password": password},
            "nodes": node_names,
            "data_dir": str(settings.data_dir.resolve()),
            "simulator": connection,
            "pid": os.getpid(),
        })  # fmt: skip
        sys.stdout.write(
            f"\n  LXC Template Manager demo → {url}\n"
            f"  admin: {ADMIN_USERNAME}  password: {password}\n"
            f"  simulated nodes: {', '.join(node_names)} (Proxmox simulator at {connection['url']})\n"
            f"  details (mode 0600): {demo_file}\n"
            f"  try: LXCM_TOKEN=<an API token> lxc-manager deploy minimal --node {node_names[0]} --url {url}\n"
            "  Ctrl-C stops both.\n\n"
        )
        sys.stdout.flush()
        await serve_task
    finally:
        sim_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sim_task
    return EXIT_OK


def demo_command(args: argparse.Namespace) -> int:
    from lxc_manager.core.runtime import tune_gc_for_server
    from lxc_manager.pvesim.schema import SchemaUnavailable

    tune_gc_for_server()
    settings = demo_settings(get_settings())
    configure_logging(settings.log_level, settings.log_json)
    # uvicorn re-raises the signal it caught after shutting down; make SIGTERM a clean Ctrl-C, not a kill.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return asyncio.run(run_demo(settings, args.host, args.port, args.task_duration))
    except SchemaUnavailable as exc:
        sys.stderr.write(f"error: the simulator needs the PVE API schema: {exc}\n")
        return EXIT_UNAVAILABLE
    except KeyboardInterrupt:
        return EXIT_OK
    except (RuntimeError, OSError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_FAILED
