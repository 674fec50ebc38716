"""End to end against the PVE simulator (HTTPS + SSH on 127.0.0.1): an admin registers a node from the
simulator's connection details, tests it, grants a second user, and that user sees only that node."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from fastapi import FastAPI

from helpers import bearer, create_token, create_user, new_client
from lxc_manager.core.config import Settings
from lxc_manager.core.db import unit_of_work
from lxc_manager.models import Node
from lxc_manager.nodes.service import node_connection
from lxc_manager.pvesim.core import SimConfig
from lxc_manager.pvesim.schema import ApiSchema, SchemaUnavailable
from lxc_manager.pvesim.server import load_connection, serve


@pytest.fixture
async def simulator(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    try:
        ApiSchema.load()
    except SchemaUnavailable as exc:
        pytest.skip(f"PVE API schema not available (../shared/pve-api), simulator test skipped: {exc}")
    config = SimConfig(nodes=2, task_duration=0.02, auth_delay=0.0, seed=5, state_dir=tmp_path / "sim")
    ready = asyncio.Event()
    task = asyncio.create_task(serve(config, "127.0.0.1", 0, 0, None, ready=ready))
    waiter = asyncio.create_task(ready.wait())
    done, _ = await asyncio.wait({task, waiter}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if waiter not in done:
        waiter.cancel()
        if task.done():
            task.result()  # surface the start-up error
        pytest.fail("the PVE simulator did not start within 60 s")
    try:
        yield load_connection(config.state_dir)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.3)  # let uvicorn notice should_exit and close its sockets


async def test_register_test_grant_and_see_only_granted_node(
    app: FastAPI, settings: Settings, simulator: dict[str, Any]
) -> None:
    admin_id = await create_user(app, "root", role="admin")
    admin = bearer(await create_token(app, admin_id, scopes=("read", "write", "admin")))
    sim_ssh = simulator["ssh"]
    first_node = simulator["nodes"][0]
    async with new_client(app) as http:
        probe = await http.post("/api/v1/nodes/probe-certificate", json={"api_url": simulator["url"]}, headers=admin)
        assert probe.status_code == 200, probe.text
        assert probe.json()["fingerprint_sha256"] == simulator["fingerprint"]

        body = {
            "name": "sim-pve1",
            "api_url": simulator["url"],
            "pve_node": first_node,
            "token_id": simulator["token_id"],
            "token_secret": simulator["token_secret"],
            "tls_mode": "fingerprint",
            "tls_fingerprint": probe.json()["fingerprint_sha256"],
            "ssh_host": sim_ssh["nodes"][first_node]["host"],
            "ssh_port": sim_ssh["nodes"][first_node]["port"],
            "ssh_user": sim_ssh["user"],
            "ssh_private_key": await asyncio.to_thread(Path(sim_ssh["private_key_path"]).read_text),
            "ssh_host_key": sim_ssh["host_public_key"],
        }
        created = await http.post("/api/v1/nodes", json=body, headers=admin)
        assert created.status_code == 201, created.text
        node_id = created.json()["id"]
        tested = (await http.post(f"/api/v1/nodes/{node_id}/test", headers=admin)).json()
        assert tested["ok"] is True, tested
        assert checks(tested)["ssh"]["ok"] is True, tested  # key login with the pinned host key
        wrong_host_key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
        patched = await http.patch(f"/api/v1/nodes/{node_id}", json={"ssh_host_key": wrong_host_key}, headers=admin)
        assert patched.status_code == 200
        mismatch = checks((await http.post(f"/api/v1/nodes/{node_id}/test", headers=admin)).json())["ssh"]
        assert mismatch["ok"] is False and "does not match the pinned key" in mismatch["message"]
        await http.patch(f"/api/v1/nodes/{node_id}", json={"ssh_host_key": body["ssh_host_key"]}, headers=admin)
        assert tested["version"] and tested["missing_privileges"] == []

        # A read-only (PVEAuditor) token: the test names what it lacks, SDN.Use included.
        restricted = {
            **body,
            "name": "sim-readonly",
            "tls_mode": "ca_bundle",
            "tls_fingerprint": None,
            "tls_ca_bundle": await asyncio.to_thread(Path(simulator["ca_path"]).read_text),
            "token_id": simulator["restricted_token"]["token_id"],
            "token_secret": simulator["restricted_token"]["token_secret"],
        }
        other = await http.post("/api/v1/nodes", json=restricted, headers=admin)
        assert other.status_code == 201, other.text
        weak = (await http.post(f"/api/v1/nodes/{other.json()['id']}/test", headers=admin)).json()
        assert weak["ok"] is False and checks(weak)["tls"]["ok"] is True
        assert {"VM.Allocate", "SDN.Use", "Datastore.AllocateSpace"} <= set(weak["missing_privileges"])
        assert "VM.Audit" not in weak["missing_privileges"]

        operator_id = await create_user(app, "alice", role="operator")
        granted = await http.put(f"/api/v1/nodes/{node_id}/access", json={"user_ids": [operator_id]}, headers=admin)
        assert granted.status_code == 200
        alice = bearer(await create_token(app, operator_id, scopes=("read", "write")))
        assert [n["name"] for n in (await http.get("/api/v1/nodes", headers=alice)).json()] == ["sim-pve1"]
        assert (await http.get(f"/api/v1/nodes/{other.json()['id']}", headers=alice)).status_code == 404
        for response in (created, granted, await http.get("/api/v1/nodes", headers=admin)):
            assert simulator["token_secret"] not in response.text

    # The decrypted connection really opens SSH with the pinned host key (what provisioning will do).
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        node = await db.get(Node, node_id)
        assert node is not None
        connection = await node_connection(db, node, settings)
    async with connection.proxmox_client() as pve:  # what other domains use for API calls
        assert first_node in {entry.node for entry in await pve.nodes()}
    assert connection.ssh_private_key is not None and connection.ssh_host_key is not None
    known_hosts = asyncssh.import_known_hosts(
        f"[{connection.ssh_host}]:{connection.ssh_port} {connection.ssh_host_key}\n"
    )
    async with asyncssh.connect(
        connection.ssh_host,
        connection.ssh_port,
        username=connection.ssh_user,
        client_keys=[asyncssh.import_private_key(connection.ssh_private_key)],
        known_hosts=known_hosts,
    ) as ssh:
        result = await ssh.run("pct list", check=False)
    assert result.exit_status == 0, result.stderr


def checks(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in result["checks"]}
