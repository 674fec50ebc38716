"""The simulator with ``--backend lxc`` end to end: PVE API create/start, then ``pct`` over SSH into a real CT.

Same prerequisites as test_lxc_backend.py (root, LXC, the cached rootfs): skipped with the reason outside CI,
mandatory under CI=true.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncssh
import httpx
import pytest
from lxc_support import prepare_lxc_host, searchable_state_dir
from simkit import ADMIN_SECRET, CONTROL, Pve

from lxc_manager.pvesim.acl import ApiToken
from lxc_manager.pvesim.app import create_app
from lxc_manager.pvesim.backends.lxc import LxcContainerBackend
from lxc_manager.pvesim.core import SimConfig, Simulator
from lxc_manager.pvesim.schema import ApiSchema
from lxc_manager.pvesim.server import ensure_ssh_keys
from lxc_manager.pvesim.ssh import start_ssh

pytestmark = [pytest.mark.lxc, pytest.mark.slow]
VMID = 920


@pytest.fixture
async def sim_lxc(pve_schema: ApiSchema) -> AsyncIterator[tuple[Pve, Any]]:
    tarball = prepare_lxc_host()
    state_dir = searchable_state_dir("lxcm-lxc-e2e-")
    backend = LxcContainerBackend(state_dir, rootfs_tarball=tarball)
    config = SimConfig(nodes=2, task_duration=0.05, auth_delay=0.0, seed=3, state_dir=state_dir)
    sim = Simulator(config, pve_schema, backend)
    sim.acl.add_token(ApiToken("root@pam", "admin", ADMIN_SECRET, privsep=False))
    host_key, client_key, client_pub = ensure_ssh_keys(state_dir)
    servers = await start_ssh(sim, "127.0.0.1", {"pve1": 0}, host_key, client_pub)
    port = servers["pve1"][1]
    known = asyncssh.import_known_hosts(f"[127.0.0.1]:{port} {host_key.with_suffix('.pub').read_text().strip()}")
    app = create_app(sim, CONTROL, "AA:BB")
    try:
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://sim") as client,
            asyncssh.connect(
                "127.0.0.1", port, username="root", client_keys=[str(client_key)], known_hosts=known
            ) as conn,
        ):
            yield Pve(sim, client), conn
    finally:
        servers["pve1"][0].close()
        await sim.tasks.shutdown()
        await backend.close()
        shutil.rmtree(state_dir, ignore_errors=True)


async def test_api_create_start_then_pct_runs_in_a_real_container(sim_lxc: tuple[Pve, Any], tmp_path: Path) -> None:
    pve, conn = sim_lxc
    created = await pve.create_ct(VMID, memory="512", unprivileged="1")
    assert created["exitstatus"] == "OK", created
    started = await pve.wait(await pve.data("POST", f"/nodes/pve1/lxc/{VMID}/status/start"))
    assert started["exitstatus"] == "OK", started
    backend = pve.sim.backend
    assert isinstance(backend, LxcContainerBackend)
    address = await backend.wait_for_ipv4(VMID, within=60)
    assert address.startswith("10.0.3.")
    # The API's /interfaces reports the CT's real address and the MAC the simulator assigned in net0.
    config = await pve.data("GET", f"/nodes/pve1/lxc/{VMID}/config")
    mac = next(part.split("=")[1] for part in config["net0"].split(",") if part.startswith("hwaddr="))
    eth0 = next(nic for nic in await pve.data("GET", f"/nodes/pve1/lxc/{VMID}/interfaces") if nic["name"] == "eth0")
    assert eth0["inet"].split("/")[0] == address and eth0["hwaddr"] == mac.lower()
    # The create parameters took effect: unprivileged (root is host uid 100000) with a 512 MiB memory limit.
    pid = (await backend.stats(VMID))["pid"]
    status = await asyncio.to_thread(Path(f"/proc/{pid}/status").read_text)
    assert status.split("Uid:")[1].split()[0] == "100000"
    read_limit = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"
    limit = await conn.run(f"pct exec {VMID} -- sh -c '{read_limit}'")
    assert int(limit.stdout) == 512 * 1024 * 1024

    release = await conn.run(f"pct exec {VMID} -- cat /etc/os-release")
    assert release.exit_status == 0 and 'VERSION_ID="12"' in release.stdout
    failing = await conn.run(f"pct exec {VMID} -- sh -c 'echo to-stderr >&2; exit 5'")
    assert (failing.exit_status, failing.stderr) == (5, "to-stderr\n")
    assert (await conn.run(f"pct status {VMID}")).stdout.strip() == "status: running"

    # pct push from the node's filesystem (the SFTP scratch dir) into the real CT, then back out with pct pull.
    async with conn.start_sftp_client() as sftp:
        local = tmp_path / "motd"
        local.write_text("pushed through pct\n")
        await sftp.put(str(local), "motd.src")
    pushed = await conn.run(f"pct push {VMID} motd.src /etc/motd --perms 0600")
    assert pushed.exit_status == 0, pushed.stderr
    mode = await conn.run(f"pct exec {VMID} -- stat -c '%a %s' /etc/motd")
    assert mode.stdout.split() == ["600", "19"]
    pulled = await conn.run(f"pct pull {VMID} /etc/motd motd.back")
    assert pulled.exit_status == 0, pulled.stderr
    async with conn.start_sftp_client() as sftp:
        await sftp.get("motd.back", str(tmp_path / "back"))
    assert (tmp_path / "back").read_text() == "pushed through pct\n"

    stopped = await pve.wait(await pve.data("POST", f"/nodes/pve1/lxc/{VMID}/status/stop"))
    assert stopped["exitstatus"] == "OK" and await backend.status(VMID) == "stopped"
    deleted = await pve.wait(await pve.data("DELETE", f"/nodes/pve1/lxc/{VMID}"))
    assert deleted["exitstatus"] == "OK" and not backend.ct_dir(VMID).exists()
