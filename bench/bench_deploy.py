"""Deployment pipeline benchmark against the PVE simulator (memory backend, instant tasks) over HTTPS + SSH.

    .venv/bin/python bench/bench_deploy.py [--template minimal] [--sequential 5] [--concurrent 50] [--workers 2]

A. Orchestration overhead: ``--sequential`` deployments one after the other, in-process (``run_deployment`` job
   function, poll intervals tuned for instant tasks); prints each wall time and the median (goal: < 1 s), and the
   CPU time per deployment of the orchestration and of the simulator with the commands it ran (steadier than wall
   times on a shared machine: what B has to fit on its cores).
B. ``--concurrent`` deployments enqueued at once on one node and run by ``--workers`` real ``lxc-manager worker``
   processes (arq, Redis at ``$LXCM_BENCH_REDIS_URL``, default redis://127.0.0.1:6379/11 — the database is
   flushed); prints the wall time until all are terminal (goal: < 15 s), VMID retries and collisions (goal: 0).

The simulator runs in its own process. The database is a fresh SQLite file, or with ``--database postgres`` a
fresh database on the PostgreSQL server at ``$LXCM_BENCH_PG_URL`` (default
postgresql+asyncpg://postgres@127.0.0.1:5432/postgres; created and dropped by the bench) — the configuration for
more than one worker process.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from lxc_manager.core.config import Environment, Settings
from lxc_manager.core.crypto import load_keyring
from lxc_manager.core.db import unit_of_work
from lxc_manager.core.jobs import ArqJobQueue, json_deserializer, json_serializer
from lxc_manager.core.logging import configure_logging
from lxc_manager.core.migrate import upgrade_to_head
from lxc_manager.deployments.pipeline.options import PipelineOptions
from lxc_manager.deployments.secrets import ROOT_PASSWORD, encrypt_deployment_secrets, input_key
from lxc_manager.deployments.tasks import run_deployment
from lxc_manager.main import build_state, close_state
from lxc_manager.models import Deployment, DeploymentEvent, Node, Template, TemplateRevision
from lxc_manager.nodes.connection import node_secret_context
from lxc_manager.templates.format import TemplateManifest
from lxc_manager.templates.resolve import is_secret, pve_create_params, resolve_inputs
from lxc_manager.templates.startup import sync_on_startup

ROOT = Path(__file__).resolve().parents[1]
OSTEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
# The polls that wait for PVE tasks, the address and the services are shortened to match the instant simulated
# tasks; heartbeat, cancel poll and log batching keep their production defaults (they wait for nothing, they
# only cost: a shorter heartbeat or flush interval would measure more transactions than a real run makes).
FAST = {"task_poll_s": 0.02, "ip_poll_s": 0.02, "verify_interval_s": 0.05}


def start_simulator(state_dir: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    argv = [str(ROOT / ".venv/bin/lxc-manager"), "pve-sim", "--nodes", "1", "--host", "127.0.0.1", "--port", "0",
            "--ssh-port", "0", "--state-dir", str(state_dir), "--task-duration", "0", "--auth-delay", "0"]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    connection = state_dir / "connection.json"
    deadline = time.monotonic() + 60
    while not connection.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the simulator did not start")
        time.sleep(0.1)
    return proc, json.loads(connection.read_text())


async def create_pg_database(server_url: str) -> tuple[str, str]:
    import asyncpg

    name = f"bench_deploy_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(server_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name, server_url.rsplit("/", 1)[0] + f"/{name}"


async def drop_pg_database(server_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def register_node(state: Any, sim: dict[str, Any]) -> str:
    keyring = load_keyring(state.settings)
    ssh = sim["ssh"]
    async with unit_of_work(state.sessionmaker) as db:
        node = Node(name="bench", api_url=sim["url"], pve_node=sim["nodes"][0], token_id=sim["token_id"],
                    token_secret_enc=b"", tls_mode="fingerprint", tls_fingerprint=sim["fingerprint"],
                    ssh_host=ssh["nodes"][sim["nodes"][0]]["host"], ssh_port=ssh["nodes"][sim["nodes"][0]]["port"],
                    ssh_user=ssh["user"], ssh_host_key=ssh["host_public_key"])  # fmt: skip
        node.id = secrets.token_hex(8)
        node.token_secret_enc = keyring.encrypt(sim["token_secret"], node_secret_context(node.id, "token_secret"))
        key = await asyncio.to_thread(Path(ssh["private_key_path"]).read_text)
        node.ssh_private_key_enc = keyring.encrypt(key, node_secret_context(node.id, "ssh_private_key"))
        db.add(node)
        return node.id


async def create_deployment(state: Any, node_id: str, template_name: str) -> str:
    async with unit_of_work(state.sessionmaker) as db:
        template = (await db.scalars(select(Template).where(Template.name == template_name))).one()
        revision = (
            await db.scalars(
                select(TemplateRevision).where(
                    TemplateRevision.template_id == template.id, TemplateRevision.number == template.current_revision
                )
            )
        ).one()
        manifest = TemplateManifest.model_validate(revision.manifest)
        values = resolve_inputs(manifest, {})
        secret_names = {spec.name for spec in manifest.inputs if is_secret(spec)}
        hostname = f"bench-{secrets.token_hex(3)}"
        params: dict[str, Any] = {"ostemplate": OSTEMPLATE}
        params.update(pve_create_params(manifest, hostname=hostname, storage="local-lvm"))
        deployment = Deployment(node_id=node_id, node_name="bench", template_id=template.id,
                                template_revision_id=revision.id, template_name=template.name,
                                template_revision=revision.number, template_hash=revision.content_hash,
                                request={}, inputs={k: v for k, v in values.items() if k not in secret_names},
                                plan={"pve_params": params}, hostname=hostname, phases={}, warnings=[])  # fmt: skip
        deployment.id = secrets.token_hex(16)
        secret_values = {input_key(k): str(v) for k, v in values.items() if k in secret_names}
        encrypt_deployment_secrets(
            state.settings, deployment, {ROOT_PASSWORD: secrets.token_urlsafe(12), **secret_values}
        )
        db.add(deployment)
        return deployment.id


def cpu_seconds(proc: subprocess.Popen[bytes]) -> float:
    """Reap ``proc`` and return the CPU time it and its reaped descendants used (user + system)."""
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return float(usage.ru_utime + usage.ru_stime)


def own_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of the process itself, without its children; read before it is reaped."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a running process and of the children it has reaped so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen([str(ROOT / ".venv/bin/lxc-manager"), "worker"], env=env, stdout=handle,
                            stderr=subprocess.STDOUT)  # fmt: skip


async def statuses(state: Any, ids: list[str]) -> dict[str, str]:
    async with unit_of_work(state.sessionmaker) as db:
        rows = (await db.execute(select(Deployment.id, Deployment.status).where(Deployment.id.in_(ids)))).all()
    return {row[0]: row[1] for row in rows}


async def sequential(state: Any, node_id: str, template: str, count: int) -> list[float]:
    ctx = {"sessionmaker": state.sessionmaker, "settings": state.settings, "pipeline_options": PipelineOptions(**FAST)}
    times, ids = [], []
    for _ in range(count):
        deployment_id = await create_deployment(state, node_id, template)
        ids.append(deployment_id)
        started = time.perf_counter()
        outcome = await run_deployment(ctx, deployment_id)
        times.append(time.perf_counter() - started)
        if outcome != "succeeded":
            async with unit_of_work(state.sessionmaker) as db:
                row = await db.get(Deployment, deployment_id)
                assert row is not None
                raise SystemExit(f"deployment failed: {row.error_code}: {row.error_message}")
    async with unit_of_work(state.sessionmaker) as db:
        rows = (await db.scalars(select(Deployment).where(Deployment.id.in_(ids)))).all()
    phases = {p: statistics.median(r.phases[p]["duration_s"] for r in rows) for p in rows[0].phases}
    print("   median phase durations: " + ", ".join(f"{p} {d:.2f} s" for p, d in phases.items()))
    return times


async def concurrent(state: Any, node_id: str, template: str, count: int, workers: int, env: dict[str, str],
                     redis_url: str, logs: Path) -> dict[str, Any]:  # fmt: skip
    from arq import create_pool
    from arq.connections import RedisSettings

    pool = await create_pool(RedisSettings.from_dsn(redis_url), job_serializer=json_serializer,
                             job_deserializer=json_deserializer)  # fmt: skip
    await pool.flushdb()
    procs = [start_worker(env, logs / f"worker{index}.log") for index in range(workers)]
    try:
        await asyncio.sleep(4)  # workers import and connect
        ids = [await create_deployment(state, node_id, template) for _ in range(count)]
        queue = ArqJobQueue(pool)
        started = time.perf_counter()
        for deployment_id in ids:
            await queue.enqueue("run_deployment", deployment_id, job_id=f"deployment:{deployment_id}")
        while True:
            current = await statuses(state, ids)
            if all(s in {"succeeded", "failed", "cancelled"} for s in current.values()):
                break
            if time.perf_counter() - started > 600:
                raise SystemExit("timeout: not every deployment finished in 600 s")
            await asyncio.sleep(0.1)
        wall = time.perf_counter() - started
    finally:
        for proc in procs:
            proc.terminate()
        worker_cpu = sum(cpu_seconds(proc) for proc in procs)
        await pool.flushdb()
        await pool.aclose()
    async with unit_of_work(state.sessionmaker) as db:
        vmids = (await db.scalars(select(Deployment.vmid).where(Deployment.id.in_(ids)))).all()
        retries = await db.scalar(
            select(func.count())
            .select_from(DeploymentEvent)
            .where(DeploymentEvent.deployment_id.in_(ids), DeploymentEvent.message.like("%was taken meanwhile%"))
        )
    return {
        "wall_s": wall,
        "worker_cpu_s": worker_cpu,
        "succeeded": list(current.values()).count("succeeded"),
        "distinct_vmids": len(set(vmids)),
        "vmid_retries": int(retries or 0),
        "duplicate_vmids": len(vmids) - len(set(vmids)),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", default="minimal")
    parser.add_argument("--sequential", type=int, default=5)
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    configure_logging("WARNING", True)
    redis_url = os.environ.get("LXCM_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        base = Path(tmp)
        proc, sim = start_simulator(base / "sim")
        pg_server = os.environ.get("LXCM_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
        pg_name = None
        if args.database == "postgres":
            pg_name, database = await create_pg_database(pg_server)
        else:
            database = f"sqlite+aiosqlite:///{base / 'bench.db'}"
        await asyncio.to_thread(upgrade_to_head, database)  # alembic runs its own event loop
        key = base64.b64encode(os.urandom(32)).decode()
        settings = Settings(environment=Environment.test, data_dir=base / "data", database_url=database,
                            secret_key=key, log_json=True, log_level="WARNING")  # type: ignore[arg-type]  # fmt: skip
        state = await build_state(settings)
        try:
            await sync_on_startup(state)
            node_id = await register_node(state, sim)
            own_before, sim_before = time.process_time(), tree_cpu_seconds(proc.pid)
            times = await sequential(state, node_id, args.template, args.sequential)
            own_ms = (time.process_time() - own_before) * 1000 / args.sequential
            sim_ms = (tree_cpu_seconds(proc.pid) - sim_before) * 1000 / args.sequential
            print(f"A. {args.template}, sequential, in-process: " + ", ".join(f"{t:.2f}" for t in times)
                  + f" s; median {statistics.median(times):.2f} s (goal < 1 s)")  # fmt: skip
            print(f"   CPU per deployment: {own_ms + sim_ms:.0f} ms (orchestration {own_ms:.0f} ms, simulator with "
                  f"the commands it ran {sim_ms:.0f} ms)")  # fmt: skip
            if args.concurrent:
                fast = {f"LXCM_DEPLOY_{k.upper()}": str(v) for k, v in FAST.items()}
                env = {**os.environ, "LXCM_ENVIRONMENT": "test", "LXCM_DATABASE_URL": database,
                       "LXCM_REDIS_URL": redis_url, "LXCM_DATA_DIR": str(settings.data_dir), "LXCM_SECRET_KEY": key,
                       "LXCM_LOG_LEVEL": "WARNING", **fast}  # fmt: skip
                result = await concurrent(state, node_id, args.template, args.concurrent, args.workers, env,
                                          redis_url, base)  # fmt: skip
                print(f"B. {args.concurrent} concurrent on one node, {args.workers} arq workers: "
                      f"{result['wall_s']:.2f} s (goal < 15 s); succeeded {result['succeeded']}/{args.concurrent}, "
                      f"distinct VMIDs {result['distinct_vmids']}, duplicates {result['duplicate_vmids']}, "
                      f"'already exists' retries {result['vmid_retries']}")  # fmt: skip
                print(f"   worker CPU (both processes, start-up included): {result['worker_cpu_s']:.1f} s")
        finally:
            await close_state(state)
            if pg_name:
                await drop_pg_database(pg_server, pg_name)
            own = own_cpu_seconds(proc.pid)
            proc.terminate()
            total = cpu_seconds(proc)
            print(
                f"   simulator CPU: {total:.1f} s (its process: API, SSH, pct {own:.1f} s; the commands it ran "
                f"— nsenter, shims, scripts {total - own:.1f} s)"
            )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
