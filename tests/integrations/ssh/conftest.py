"""Fixtures for the SSH client tests: a real OpenSSH sshd (module-scoped) and the PVE simulator's SSH server."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh
import httpx
import pytest
from ssh_servers import OpenSSHServer, new_key, openssh_unavailable, public_line, start_openssh

from lxc_manager.integrations.ssh import SSHTarget
from lxc_manager.pvesim import ssh as sim_ssh
from lxc_manager.pvesim.acl import ApiToken
from lxc_manager.pvesim.app import create_app
from lxc_manager.pvesim.backend import MemoryBackend
from lxc_manager.pvesim.core import SimConfig, Simulator
from lxc_manager.pvesim.schema import ApiSchema, SchemaUnavailable, resolve_schema_path
from lxc_manager.pvesim.server import ensure_ssh_keys

TOKEN_SECRET = "11111111-2222-3333-4444-555555555555"


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


@dataclass
class SimNode:
    sim: Simulator
    api: httpx.AsyncClient
    port: int
    client_key: asyncssh.SSHKey
    host_pub: str
    commands: list[str] = field(default_factory=list)

    def target(self, *, client_key: asyncssh.SSHKey | None = None, host_key: str | None = None) -> SSHTarget:
        return SSHTarget(
            host="127.0.0.1", port=self.port, username="root",
            private_key_pem=(client_key or self.client_key).export_private_key().decode(),
            host_key=host_key or self.host_pub,
        )  # fmt: skip

    async def _data(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"PVEAPIToken=root@pam!admin={TOKEN_SECRET}"}
        response = await self.api.request(method, "/api2/json" + path, headers=headers, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    async def _wait(self, upid: str) -> None:
        for _ in range(1000):
            status = await self._data("GET", f"/nodes/pve1/tasks/{upid}/status")
            if status["status"] == "stopped":
                assert status["exitstatus"] == "OK", status
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"task {upid} did not finish")

    async def create_ct(self, vmid: int, *, start: bool = True) -> None:
        form = {"vmid": str(vmid), "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
                "hostname": f"ct{vmid}", "rootfs": "local-lvm:8", "memory": "512"}  # fmt: skip
        await self._wait(await self._data("POST", "/nodes/pve1/lxc", data=form))
        if start:
            await self._wait(await self._data("POST", f"/nodes/pve1/lxc/{vmid}/status/start"))

    def ct_path(self, vmid: int, path: str) -> Path:
        backend = self.sim.backend
        assert isinstance(backend, MemoryBackend)
        return backend.resolve(vmid, path)

    @property
    def scratch(self) -> Path:
        return self.sim.config.state_dir / "nodes" / "pve1"


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
