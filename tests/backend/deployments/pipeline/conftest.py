"""Fixtures for the pipeline tests: the PVE simulator (memory backend, real HTTPS + SSH on 127.0.0.1) registered
as a node through the API, a test template synced from the templates folder, and fast pipeline options."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from pipekit import Sim, write_test_template

from helpers import bearer, create_token, create_user, new_client
from lxc_manager.core.config import Settings
from lxc_manager.pvesim.core import SimConfig
from lxc_manager.pvesim.schema import ApiSchema, SchemaUnavailable
from lxc_manager.pvesim.server import load_connection, serve


@pytest.fixture
def settings(settings: Settings) -> Settings:
    write_test_template(settings.templates_dir)
    return settings


@pytest.fixture
async def simulator(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    try:
        ApiSchema.load()
    except SchemaUnavailable as exc:
        pytest.skip(f"PVE API schema not available (../shared/pve-api), pipeline tests skipped: {exc}")
    config = SimConfig(nodes=2, task_duration=0.01, auth_delay=0.0, seed=11, state_dir=tmp_path / "sim")
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
        yield load_connection(config.state_dir)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.2)


@pytest.fixture
async def sim(app: FastAPI, simulator: dict[str, Any]) -> AsyncIterator[Sim]:
    """The simulator registered as node ``sim-pve1`` (admin API), with its control API for faults."""
    admin_id = await create_user(app, "root", role="admin")
    admin = bearer(await create_token(app, admin_id, scopes=("read", "write", "admin")))
    ssh = simulator["ssh"]
    node = simulator["nodes"][0]
    body = {
        "name": "sim-pve1",
        "api_url": simulator["url"],
        "pve_node": node,
        "token_id": simulator["token_id"],
        "token_secret": simulator["token_secret"],
        "tls_mode": "fingerprint",
        "tls_fingerprint": simulator["fingerprint"],
        "ssh_host": ssh["nodes"][node]["host"],
        "ssh_port": ssh["nodes"][node]["port"],
        "ssh_user": ssh["user"],
        "ssh_private_key": await asyncio.to_thread(Path(ssh["private_key_path"]).read_text),
        "ssh_host_key": ssh["host_public_key"],
    }
    async with new_client(app) as http:
        created = await http.post("/api/v1/nodes", json=body, headers=admin)
        assert created.status_code == 201, created.text
    async with Sim(app, simulator, created.json()["id"], node, admin_id) as handle:
        yield handle
