"""A PVE simulator (HTTPS + SSH on 127.0.0.1, memory backend) running in the test's event loop, and its nodes
registered in the app through the API — shared by the wizard, deployments and CLI tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lxc_manager.pvesim.core import SimConfig
from lxc_manager.pvesim.schema import ApiSchema, SchemaUnavailable
from lxc_manager.pvesim.server import load_connection, serve


@contextlib.asynccontextmanager
async def running_simulator(
    state_dir: Path, *, nodes: int = 3, task_duration: float = 0.02
) -> AsyncIterator[dict[str, Any]]:
    """Start the simulator; yield its connection.json. Skips the test when the PVE schema is absent."""
    try:
        ApiSchema.load()
    except SchemaUnavailable as exc:
        pytest.skip(f"PVE API schema not available (../shared/pve-api), simulator test skipped: {exc}")
    config = SimConfig(nodes=nodes, task_duration=task_duration, auth_delay=0.0, seed=3, state_dir=state_dir)
    ready = asyncio.Event()
    task = asyncio.create_task(serve(config, "127.0.0.1", 0, 0, None, ready=ready))
    waiter = asyncio.create_task(ready.wait())
    done, _ = await asyncio.wait({task, waiter}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if waiter not in done:
        waiter.cancel()
        if task.done():
            task.result()
        pytest.fail("the PVE simulator did not start within 60 s")
    try:
        yield load_connection(state_dir)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.2)  # let uvicorn close its sockets


def node_body(sim: dict[str, Any], pve_node: str, name: str | None = None) -> dict[str, Any]:
    ssh = sim["ssh"]
    return {
        "name": name or f"sim-{pve_node}",
        "api_url": sim["url"],
        "pve_node": pve_node,
        "token_id": sim["token_id"],
        "token_secret": sim["token_secret"],
        "tls_mode": "fingerprint",
        "tls_fingerprint": sim["fingerprint"],
        "ssh_host": ssh["nodes"][pve_node]["host"],
        "ssh_port": ssh["nodes"][pve_node]["port"],
        "ssh_user": ssh["user"],
        "ssh_private_key": Path(ssh["private_key_path"]).read_text(),
        "ssh_host_key": ssh["host_public_key"],
    }


async def register_nodes(http: httpx.AsyncClient, sim: dict[str, Any], admin: dict[str, str]) -> dict[str, str]:
    """Register every simulated node through ``POST /api/v1/nodes``; returns ``{pve node name: node id}``."""
    ids: dict[str, str] = {}
    for pve_node in sim["nodes"]:
        created = await http.post("/api/v1/nodes", json=node_body(sim, pve_node), headers=admin)
        assert created.status_code == 201, created.text
        ids[pve_node] = created.json()["id"]
    return ids


async def sim_control(sim: dict[str, Any], method: str, path: str, **kwargs: Any) -> Any:
    """Call the simulator's control API (faults, state)."""
    async with httpx.AsyncClient(verify=sim["ca_path"], base_url=sim["control_url"]) as control:
        response = await control.request(
            method, path, headers={"Authorization": f"Bearer {sim['control_token']}"}, **kwargs
        )
        response.raise_for_status()
        return response.json() if response.content else None
