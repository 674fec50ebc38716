"""The client against the PVE simulator (in-process ASGI): a full container lifecycle, fault handling and
privilege preflight. The simulator validates requests like PVE; every request is also schema-checked (conftest)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from lxc_manager.integrations.proxmox import (
    FeaturesSpec,
    NetSpec,
    ProxmoxAlreadyExists,
    ProxmoxAuthError,
    ProxmoxClient,
    ProxmoxLocked,
    ProxmoxNodeOffline,
    ProxmoxNotFound,
    ProxmoxTaskError,
    RetryPolicy,
    RootfsSpec,
    missing_privileges,
    new_volume,
)
from lxc_manager.pvesim.acl import AclEntry, ApiToken, privileges_for
from lxc_manager.pvesim.app import create_app
from lxc_manager.pvesim.backend import MemoryBackend
from lxc_manager.pvesim.core import SimConfig, Simulator
from pve_conformance import RecordingTransport, conformance_errors, load_schema_or_skip

SECRET = "0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a"
TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[Simulator]:
    config = SimConfig(nodes=2, task_duration=0.02, auth_delay=0.0, seed=3, state_dir=tmp_path)
    simulator = Simulator(config, load_schema_or_skip(), MemoryBackend(tmp_path / "containers"))
    simulator.acl.add_token(ApiToken("root@pam", "lxcm", SECRET, privsep=False))
    simulator.acl.add_token(
        ApiToken("audit@pve", "ro", "ro-secret", privsep=True, acl=[AclEntry("/", privileges_for(["PVEAuditor"]))])
    )
    simulator.acl.user_acl["audit@pve"] = [AclEntry("/", privileges_for(["Administrator"]))]
    yield simulator
    await simulator.tasks.shutdown()


@pytest.fixture
async def recorder(sim: Simulator) -> AsyncIterator[RecordingTransport]:
    transport = RecordingTransport(httpx.ASGITransport(app=create_app(sim, "control", "AA:BB")))
    yield transport
    problems = conformance_errors(load_schema_or_skip(), transport.records)
    assert not problems, "\n".join(problems)


def _client(transport: httpx.AsyncBaseTransport, token: str = "root@pam!lxcm", secret: str = SECRET) -> ProxmoxClient:
    return ProxmoxClient("https://sim:8006", token, secret, transport=transport, retries=RetryPolicy(backoff_base=0))


async def test_container_lifecycle(recorder: RecordingTransport) -> None:
    async with _client(recorder) as pve:
        assert (await pve.version()).release
        nodes = sorted(n.node for n in await pve.nodes())
        assert len(nodes) == 2
        node = nodes[0]
        bridges = await pve.networks(node)
        storages = await pve.storages(node, content="rootdir", enabled=True)
        vmid = await pve.nextid()
        params = {
            "vmid": vmid, "ostemplate": TEMPLATE, "hostname": "web-1", "memory": 512, "unprivileged": True,
            "rootfs": RootfsSpec(volume=new_volume(storages[0].storage, 2)).build(),
            "net0": NetSpec(name="eth0", bridge=bridges[0].iface, ip="dhcp").build(),
            "features": FeaturesSpec(nesting=True).build(), "tags": "lxcm",
        }  # fmt: skip
        created = await pve.wait_task(await pve.lxc_create(node, params), timeout=10, poll_interval=0.01)
        assert created.ok
        with pytest.raises(ProxmoxAlreadyExists):
            await pve.lxc_create(node, params)
        assert await pve.is_vmid_free(vmid) is False
        config = await pve.wait_unlocked(node, vmid, timeout=5, poll_interval=0.01)
        assert config.hostname == "web-1" and NetSpec.parse(config.indexed("net")[0]).hwaddr
        await pve.lxc_update_config(node, vmid, {"memory": 1024}, digest=config.digest)
        assert (await pve.lxc_config(node, vmid)).memory == 1024
        assert (await pve.wait_task(await pve.lxc_start(node, vmid), timeout=10, poll_interval=0.01)).ok
        status = await pve.lxc_status(node, vmid)
        assert status.status == "running"
        assert any(r.vmid == vmid for r in await pve.cluster_resources("vm"))
        await pve.lxc_interfaces(node, vmid)
        assert await pve.lxc_rrddata(node, vmid, "hour")
        snap = await pve.lxc_snapshot_create(node, vmid, "before")
        await pve.wait_task(snap, timeout=10, poll_interval=0.01)
        assert "before" in [s.name for s in await pve.lxc_snapshots(node, vmid)]
        stop = await pve.lxc_shutdown(node, vmid, timeout=5, force_stop=True)
        assert (await pve.wait_task(stop, timeout=10, poll_interval=0.01)).ok
        destroy = await pve.lxc_delete(node, vmid, purge=True, destroy_unreferenced_disks=True)
        assert (await pve.wait_task(destroy, timeout=10, poll_interval=0.01)).ok
        with pytest.raises(ProxmoxNotFound):
            await pve.lxc_status(node, vmid)


async def test_faults_map_to_client_errors(sim: Simulator, recorder: RecordingTransport) -> None:
    async with _client(recorder) as pve:
        create = {"vmid": 300, "ostemplate": TEMPLATE, "rootfs": "local-lvm:2"}
        sim.faults.add({"kind": "error", "endpoint": "POST /nodes/{node}/lxc", "status": 500, "count": 2,
                        "message": "can't lock file '/run/lock/lxc/pve-config-300.lock' - got timeout"})  # fmt: skip
        upid = await pve.lxc_create("pve1", create)
        assert (await pve.wait_task(upid, timeout=10, poll_interval=0.01)).ok
        creates = [r for r in recorder.records if r.method == "POST" and r.path == "/nodes/pve1/lxc"]
        assert len(creates) == 3
        sim.faults.add({"kind": "lock", "vmid": 300, "lock": "backup"})
        with pytest.raises(ProxmoxLocked):
            await pve.lxc_update_config("pve1", 300, {"memory": 256})
        sim.faults.reset()
        sim.faults.add({"kind": "task_failure", "task_type": "vzstart", "message": "startup failed"})
        with pytest.raises(ProxmoxTaskError) as failed:
            await pve.wait_task(await pve.lxc_start("pve1", 300), timeout=10, poll_interval=0.01)
        assert failed.value.exitstatus == "startup failed"
        assert failed.value.log_tail and failed.value.log_tail[-1] == "TASK ERROR: startup failed"
        sim.faults.add({"kind": "node_offline", "node": "pve2"})
        with pytest.raises(ProxmoxNodeOffline):
            await pve.node_status("pve2")


async def test_privilege_preflight_and_bad_token(recorder: RecordingTransport) -> None:
    async with _client(recorder, "audit@pve!ro", "ro-secret") as auditor:
        perms = await auditor.permissions()
        assert missing_privileges(perms, "/vms/100", ["VM.Audit"]) == []
        assert missing_privileges(perms, "/vms/100", ["VM.Allocate"]) == ["VM.Allocate"]
    async with _client(recorder, "root@pam!lxcm", "wrong-secret") as wrong:
        with pytest.raises(ProxmoxAuthError):
            await wrong.version()
