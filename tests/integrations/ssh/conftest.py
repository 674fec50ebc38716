"""Fixtures for the SSH client tests: a real OpenSSH sshd (module-scoped) and the PVE simulator's SSH server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncssh
import httpx
import pytest
from ssh_servers import TOKEN_SECRET, OpenSSHServer, SimNode, new_key, openssh_unavailable, public_line, start_openssh

from lxc_manager.pvesim import ssh as sim_ssh
from lxc_manager.pvesim.acl import ApiToken
from lxc_manager.pvesim.app import create_app
from lxc_manager.pvesim.backend import MemoryBackend
from lxc_manager.pvesim.core import SimConfig, Simulator
from lxc_manager.pvesim.schema import ApiSchema, SchemaUnavailable, resolve_schema_path
from lxc_manager.pvesim.server import ensure_ssh_keys


@pytest.fixture(scope="module")
def openssh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenSSHServer]:
    reason = openssh_unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"OpenSSH tests are mandatory under CI=true: {reason}")
        pytest.skip(reason)
    server = start_openssh(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pve_schema_for_ssh() -> ApiSchema:
    try:
        return ApiSchema.load(resolve_schema_path())
    except SchemaUnavailable as exc:
        pytest.skip(f"PVE API schema not available, simulator SSH tests skipped: {exc}")


@pytest.fixture
async def sim_node(
    pve_schema_for_ssh: ApiSchema, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[SimNode]:
    """The simulator (memory backend) with its SSH server on 127.0.0.1; records every command line it receives."""
    config = SimConfig(nodes=1, task_duration=0.0, auth_delay=0.0, seed=3, state_dir=tmp_path / "sim")
    sim = Simulator(config, pve_schema_for_ssh, MemoryBackend(config.state_dir / "containers"))
    sim.acl.add_token(ApiToken("root@pam", "admin", TOKEN_SECRET, privsep=False))
    (tmp_path / "keys").mkdir()
    host_key, client_key_path, client_pub = ensure_ssh_keys(tmp_path / "keys")
    received: list[str] = []
    serve = sim_ssh._serve

    async def recording_serve(sim_: Simulator, node: str, scratch: Path, process: Any) -> None:
        received.append(process.command or "")
        await serve(sim_, node, scratch, process)

    monkeypatch.setattr(sim_ssh, "_serve", recording_serve)
    servers = await sim_ssh.start_ssh(sim, "127.0.0.1", {"pve1": 0}, host_key, client_pub)
    app = create_app(sim, "control", "AA:BB")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://sim") as api:
        yield SimNode(sim, api, servers["pve1"][1], asyncssh.read_private_key(client_key_path),
                      host_key.with_suffix(".pub").read_text().strip(), received)  # fmt: skip
    for acceptor, _ in servers.values():
        acceptor.close()
    await sim.tasks.shutdown()


@pytest.fixture
def stranger_key() -> asyncssh.SSHKey:
    return new_key()


@pytest.fixture
def stranger_host_line() -> str:
    return public_line(new_key())
