"""Helpers shared by the simulator tests (a uniquely named module: ``conftest`` is ambiguous across test folders)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from lxc_manager.pvesim.acl import AclEntry, ApiToken, privileges_for
from lxc_manager.pvesim.backend import MemoryBackend
from lxc_manager.pvesim.core import SimConfig, Simulator

ADMIN = "root@pam!admin"
ADMIN_SECRET = "11111111-2222-3333-4444-555555555555"
CONTROL = "control-secret"


class Pve:
    """Test client speaking to the simulator with an API token."""

    def __init__(self, sim: Simulator, client: httpx.AsyncClient) -> None:
        self.sim = sim
        self.client = client

    def auth(self, token: str = ADMIN, secret: str = ADMIN_SECRET) -> dict[str, str]:
        return {"Authorization": f"PVEAPIToken={token}={secret}"}

    async def call(self, method: str, path: str, token: tuple[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        headers = {**(self.auth(*token) if token else self.auth()), **kwargs.pop("headers", {})}
        return await self.client.request(method, "/api2/json" + path, headers=headers, **kwargs)

    async def data(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.call(method, path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    async def wait(self, upid: str, node: str = "pve1") -> dict[str, Any]:
        for _ in range(500):
            status = await self.data("GET", f"/nodes/{node}/tasks/{upid}/status")
            if status["status"] == "stopped":
                return status  # type: ignore[no-any-return]
            await asyncio.sleep(0.01)
        raise AssertionError(f"task {upid} did not finish")

    async def control(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.request(method, path, headers={"Authorization": f"Bearer {CONTROL}"}, **kwargs)

    async def create_ct(self, vmid: int = 200, node: str = "pve1", **extra: Any) -> dict[str, Any]:
        form = {"vmid": str(vmid), "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
                "hostname": f"ct{vmid}", "rootfs": "local-lvm:8", "net0": "name=eth0,bridge=vmbr0,ip=dhcp",
                "memory": "512", **extra}  # fmt: skip
        upid = await self.data("POST", f"/nodes/{node}/lxc", data=form)
        return await self.wait(upid, node)


def make_simulator(schema: Any, state_dir: Path, task_duration: float = 0.02) -> Simulator:
    config = SimConfig(nodes=3, task_duration=task_duration, auth_delay=0.0, seed=7, state_dir=state_dir)
    sim = Simulator(config, schema, MemoryBackend(state_dir / "containers"))
    sim.acl.add_token(ApiToken("root@pam", "admin", ADMIN_SECRET, privsep=False))
    sim.acl.add_token(
        ApiToken("audit@pve", "ro", "ro-secret", privsep=True, acl=[AclEntry("/", privileges_for(["PVEAuditor"]))])
    )
    sim.acl.user_acl["audit@pve"] = [AclEntry("/", privileges_for(["Administrator"]))]
    return sim
