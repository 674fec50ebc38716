"""Container lifecycle, tasks and locks, nextid, addresses, snapshots, and fault injection."""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest
from simkit import CONTROL, Pve, make_simulator

from lxc_manager.pvesim.app import create_app
from lxc_manager.pvesim.backend import MemoryBackend
from lxc_manager.pvesim.schema import ApiSchema

TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
UPID_RE = re.compile(
    r"^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):"
    r"([^:\s/]+):([^:\s/]*):([^:\s/]+):$"
)


async def _eventually(check: object, attempts: int = 300) -> None:
    for _ in range(attempts):
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def test_create_reads_back_like_pve(pve: Pve) -> None:
    status = await pve.create_ct(200)
    assert UPID_RE.match(status["upid"]) and status["type"] == "vzcreate" and status["id"] == "200"
    config = await pve.data("GET", "/nodes/pve1/lxc/200/config")
    assert config["rootfs"] == "local-lvm:vm-200-disk-0,size=8G"
    assert re.fullmatch(r"name=eth0,bridge=vmbr0,hwaddr=BC:24:11(:[0-9A-F]{2}){3},ip=dhcp,type=veth", config["net0"])
    assert config["memory"] == 512 and config["unprivileged"] == 1 and config["ostype"] == "debian"
    assert re.fullmatch(r"[0-9a-f]{40}", config["digest"]) and "lock" not in config
    volumes = await pve.data("GET", "/nodes/pve1/storage/local-lvm/content", params={"vmid": 200})
    assert [(v["volid"], v["size"]) for v in volumes] == [("local-lvm:vm-200-disk-0", 8 * 1024**3)]
    again = await pve.call("POST", "/nodes/pve1/lxc", data={"vmid": "200", "ostemplate":
                           TEMPLATE})  # fmt: skip
    assert again.status_code == 500 and again.json()["message"] == "CT 200 already exists on node 'pve1'\n"
    on_other_node = await pve.call("POST", "/nodes/pve2/lxc", data={"vmid": "200", "ostemplate":
                                   TEMPLATE})  # fmt: skip
    assert on_other_node.json()["message"] == "CT 200 already exists on node 'pve1'\n"


async def test_create_with_missing_template_or_bad_storage(pve: Pve) -> None:
    missing = await pve.create_ct(201, ostemplate="local:vztmpl/nope.tar.zst")
    assert missing["exitstatus"] == "unable to create CT 201 - volume 'local:vztmpl/nope.tar.zst' does not exist"
    unparsable = await pve.call("POST", "/nodes/pve1/lxc", data={"vmid": "201", "ostemplate": "nope.tar.zst"})
    assert unparsable.status_code == 500
    assert unparsable.json()["message"] == "unable to parse volume ID 'nope.tar.zst'\n"
    wrong = await pve.call("POST", "/nodes/pve1/lxc", data={"vmid": "201", "ostemplate": TEMPLATE, "rootfs": "local:4"})
    assert wrong.status_code == 400
    assert wrong.json()["errors"] == {"storage": "storage 'local' does not support container directories"}
    no_rootfs = await pve.call("POST", "/nodes/pve1/lxc", data={"vmid": "201", "ostemplate": TEMPLATE})
    assert no_rootfs.status_code == 400  # the default storage 'local' holds no container directories
    mp_only = await pve.call("POST", "/nodes/pve1/lxc", data={"vmid": "201", "ostemplate": TEMPLATE,
                                                             "mp0": "local-lvm:1,mp=/data"})  # fmt: skip
    assert mp_only.json()["message"] == "mount points configured, but 'rootfs' not set - aborting\n"
    too_big = await pve.create_ct(202, rootfs="local-lvm:9999")
    assert "insufficient free space" in too_big["exitstatus"]
    gone = await pve.call("GET", "/nodes/pve1/lxc/202/config")
    assert gone.status_code == 500  # a failed create leaves nothing behind


async def test_lock_create_while_the_task_runs(pve_schema: ApiSchema, tmp_path: Path) -> None:
    sim = make_simulator(pve_schema, tmp_path, task_duration=0.3)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(sim, CONTROL)), base_url="https://s"
    ) as c:
        pve = Pve(sim, c)
        upid = await pve.data("POST", "/nodes/pve1/lxc", data={
            "vmid": "220", "ostemplate": TEMPLATE, "rootfs": "local-lvm:1"})  # fmt: skip
        current = await pve.data("GET", "/nodes/pve1/lxc/220/status/current")
        assert current["lock"] == "create" and current["status"] == "stopped"
        running = await pve.data("GET", f"/nodes/pve1/tasks/{upid}/status")
        assert running["status"] == "running" and "exitstatus" not in running
        put = await pve.call("PUT", "/nodes/pve1/lxc/220/config", data={"cores": "2"})
        assert put.status_code == 500 and put.json()["message"] == "CT is locked (create)\n"
        start = await pve.data("POST", "/nodes/pve1/lxc/220/status/start")
        assert (await pve.wait(upid))["exitstatus"] == "OK"
        failed = await pve.wait(start)
        assert failed["exitstatus"] == "CT is locked (create)"
        log = await pve.call("GET", f"/nodes/pve1/tasks/{start}/log")
        assert log.json()["data"][-1]["t"] == "TASK ERROR: CT is locked (create)" and log.json()["total"] >= 1
        assert "lock" not in await pve.data("GET", "/nodes/pve1/lxc/220/status/current")
        archive = await pve.data("GET", "/nodes/pve1/tasks")
        assert {t["upid"] for t in archive} == {upid, start}
        await sim.tasks.shutdown()


async def test_nextid_does_not_reserve(pve: Pve) -> None:
    assert await pve.data("GET", "/cluster/nextid") == "100"
    assert await pve.data("GET", "/cluster/nextid") == "100"
    await pve.create_ct(100)
    assert await pve.data("GET", "/cluster/nextid") == "101"
    taken = await pve.call("GET", "/cluster/nextid", params={"vmid": "100"})
    assert taken.status_code == 400 and taken.json()["errors"] == {"vmid": "VM 100 already exists"}
    assert await pve.data("GET", "/cluster/nextid", params={"vmid": "555"}) == "555"


async def test_start_assigns_ip_and_power_errors(pve: Pve) -> None:
    await pve.create_ct(200)
    not_running = await pve.call("GET", "/nodes/pve1/lxc/200/interfaces")
    assert not_running.status_code == 500
    stop_stopped = await pve.call("POST", "/nodes/pve1/lxc/200/status/stop")
    assert stop_stopped.json()["message"] == "CT 200 not running\n"
    assert (await pve.wait(await pve.data("POST", "/nodes/pve1/lxc/200/status/start")))["exitstatus"] == "OK"
    current = await pve.data("GET", "/nodes/pve1/lxc/200/status/current")
    assert current["status"] == "running" and current["pid"] > 0 and current["pressurecpusome"] == "0.00"
    assert current["ha"] == {"managed": 0}
    eth0 = next(i for i in await pve.data("GET", "/nodes/pve1/lxc/200/interfaces") if i["name"] == "eth0")
    assert ipaddress.ip_interface(eth0["inet"]).network == ipaddress.ip_network("10.10.0.0/24")
    again = await pve.call("POST", "/nodes/pve1/lxc/200/status/start")
    assert again.status_code == 500 and again.json()["message"] == "CT 200 already running\n"
    delete = await pve.call("DELETE", "/nodes/pve1/lxc/200")
    assert delete.json()["message"] == "unable to destroy CT 200 - container is running\n"
    rrd = await pve.data("GET", "/nodes/pve1/lxc/200/rrddata", params={"timeframe": "hour", "cf": "AVERAGE"})
    assert len(rrd) == 70 and "cpu" in rrd[-1] and rrd[-1]["maxmem"] == 512 * 1024**2
    assert (await pve.wait(await pve.data("POST", "/nodes/pve1/lxc/200/status/shutdown")))["exitstatus"] == "OK"
    stopped = await pve.data("GET", "/nodes/pve1/lxc/200/status/current")
    assert stopped["status"] == "stopped" and "pid" not in stopped and "pressurecpusome" not in stopped
    assert (await pve.wait(await pve.data("DELETE", "/nodes/pve1/lxc/200", params={"purge": 1})))["exitstatus"] == "OK"
    assert (await pve.call("GET", "/nodes/pve1/lxc/200/config")).status_code == 500
    assert await pve.data("GET", "/nodes/pve1/storage/local-lvm/content", params={"vmid": 200}) == []


async def test_config_put_and_digest(pve: Pve) -> None:
    await pve.create_ct(200)
    config = await pve.data("GET", "/nodes/pve1/lxc/200/config")
    assert await pve.data("PUT", "/nodes/pve1/lxc/200/config", data={"cores": "2", "digest": config["digest"]}) is None
    stale = await pve.call("PUT", "/nodes/pve1/lxc/200/config", data={"memory": "1024", "digest": config["digest"]})
    assert stale.status_code == 500
    assert stale.json()["message"] == "detected modified configuration - file changed by other user? Try again.\n"
    await pve.data("PUT", "/nodes/pve1/lxc/200/config", data={"delete": "cores", "net1": "name=eth1,bridge=vmbr1"})
    updated = await pve.data("GET", "/nodes/pve1/lxc/200/config")
    assert "cores" not in updated and "hwaddr=" in updated["net1"] and updated["net1"].endswith("type=veth")


async def test_task_list_sources_and_stop(pve_schema: ApiSchema, tmp_path: Path) -> None:
    sim = make_simulator(pve_schema, tmp_path, task_duration=30)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(sim, CONTROL)), base_url="https://s"
    ) as c:
        pve = Pve(sim, c)
        upid = await pve.data("POST", "/nodes/pve1/aplinfo", data={
            "storage": "local", "template": "alpine-3.22-default_20250617_amd64.tar.xz"})  # fmt: skip
        assert ":download:alpine-3.22-default_20250617_amd64.tar.xz:root@pam!admin:" in upid
        active = await pve.data("GET", "/nodes/pve1/tasks", params={"source": "active"})
        assert [(t["upid"], t["status"]) for t in active] == [(upid, "RUNNING")]
        assert await pve.data("GET", "/nodes/pve1/tasks") == []
        assert await pve.data("DELETE", f"/nodes/pve1/tasks/{upid}") is None
        status = await pve.wait(upid)
        assert status["exitstatus"] == "interrupted by signal"
        unknown = await pve.call("GET", "/nodes/pve1/tasks/UPID:pve1:00000001:00000001:00000001:x::root@pam:/status")
        assert unknown.status_code == 400 and unknown.json()["errors"] == {"upid": "no such task"}
        await sim.tasks.shutdown()


async def test_snapshots(pve: Pve) -> None:
    await pve.create_ct(200)
    assert (await pve.wait(await pve.data("POST", "/nodes/pve1/lxc/200/snapshot", data={"snapname": "s1"})))[
        "exitstatus"] == "OK"  # fmt: skip
    await pve.data("PUT", "/nodes/pve1/lxc/200/config", data={"memory": "2048"})
    snaps = await pve.data("GET", "/nodes/pve1/lxc/200/snapshot")
    assert [s["name"] for s in snaps] == ["s1", "current"] and snaps[1]["parent"] == "s1"
    assert snaps[1]["description"] == "You are here!" and snaps[1]["running"] == 0
    dup = await pve.wait(await pve.data("POST", "/nodes/pve1/lxc/200/snapshot", data={"snapname": "s1"}))
    assert dup["exitstatus"] == "snapshot name 's1' already used"
    rollback = await pve.wait(await pve.data("POST", "/nodes/pve1/lxc/200/snapshot/s1/rollback"))
    assert rollback["type"] == "vzrollback" and rollback["exitstatus"] == "OK"
    assert (await pve.data("GET", "/nodes/pve1/lxc/200/config"))["memory"] == 512
    missing = await pve.wait(await pve.data("DELETE", "/nodes/pve1/lxc/200/snapshot/nope"))
    assert missing["exitstatus"] == "snapshot 'nope' does not exist"
    assert (await pve.wait(await pve.data("DELETE", "/nodes/pve1/lxc/200/snapshot/s1")))["exitstatus"] == "OK"
    assert [s["name"] for s in await pve.data("GET", "/nodes/pve1/lxc/200/snapshot")] == ["current"]


async def test_fault_lock_task_failure_and_warnings(pve: Pve) -> None:
    await pve.create_ct(200)
    await pve.control("POST", "/_sim/faults", json={"kind": "lock", "vmid": 200, "lock": "backup"})
    assert (await pve.data("GET", "/nodes/pve1/lxc/200/status/current"))["lock"] == "backup"
    locked = await pve.wait(await pve.data("POST", "/nodes/pve1/lxc/200/status/start"))
    assert locked["exitstatus"] == "CT is locked (backup)"
    await pve.control("DELETE", "/_sim/faults")
    await pve.control("POST", "/_sim/faults", json={"kind": "task_failure", "task_type": "vzstart",
                                                    "message": "startup for container '200' failed"})  # fmt: skip
    failed = await pve.wait(await pve.data("POST", "/nodes/pve1/lxc/200/status/start"))
    assert failed["exitstatus"] == "startup for container '200' failed"
    await pve.control("POST", "/_sim/faults", json={"kind": "task_warnings", "task_type": "vzstart", "warnings": 2})
    warned = await pve.wait(await pve.data("POST", "/nodes/pve1/lxc/200/status/start"))
    assert warned["exitstatus"] == "WARNINGS: 2"
    log = await pve.data("GET", f"/nodes/pve1/tasks/{warned['upid']}/log")
    assert log[-1]["t"] == "TASK WARNINGS: 2"


async def test_node_offline_gives_595(pve: Pve) -> None:
    await pve.control("POST", "/_sim/faults", json={"kind": "node_offline", "node": "pve2"})
    offline = await pve.call("GET", "/nodes/pve2/lxc")
    assert offline.status_code == 595 and offline.json()["message"] == "Connection refused\n"
    nodes = {n["node"]: n["status"] for n in await pve.data("GET", "/nodes")}
    assert nodes == {"pve1": "online", "pve2": "offline", "pve3": "online"}
    assert (await pve.call("GET", "/nodes/pve1/lxc")).status_code == 200


@pytest.mark.parametrize("seed", [1, 42])
async def test_error_rate_is_deterministic_with_a_seed(pve: Pve, seed: int) -> None:
    async def pattern() -> list[int]:
        await pve.control("DELETE", "/_sim/faults")
        spec = {"kind": "error", "endpoint": "GET /version", "rate": 0.5, "status": 500, "message": "got timeout",
                "seed": seed}  # fmt: skip
        assert (await pve.control("POST", "/_sim/faults", json=spec)).status_code == 200
        return [(await pve.call("GET", "/version")).status_code for _ in range(20)]

    first, second = await pattern(), await pattern()
    assert first == second and {500, 200} == set(first)
    failing = await pve.call("GET", "/version")
    if failing.status_code == 500:
        assert failing.json()["message"] == "got timeout\n"
    assert (await pve.call("GET", "/nodes")).status_code == 200  # other endpoints unaffected


async def test_control_api_requires_its_token_and_validates(pve: Pve) -> None:
    assert (await pve.client.get("/_sim/state")).status_code == 401
    bad = await pve.control("POST", "/_sim/faults", json={"kind": "meteor"})
    assert bad.status_code == 400
    state = (await pve.control("GET", "/_sim/state")).json()
    assert set(state["nodes"]) == {"pve1", "pve2", "pve3"}
    await pve.create_ct(200)
    assert (await pve.control("POST", "/_sim/reset")).status_code == 200
    assert (await pve.control("GET", "/_sim/state")).json()["guests"] == {}
    assert (await pve.call("GET", "/version")).status_code == 200  # tokens survive a reset


async def test_latency_fault_applies_per_endpoint(pve: Pve) -> None:
    spec = {"kind": "latency", "seconds": 0.01, "endpoint": "GET /cluster/resources"}
    fault = (await pve.control("POST", "/_sim/faults", json=spec)).json()
    assert fault["kind"] == "latency" and fault["seconds"] == 0.01
    assert pve.sim.faults.latency("GET", "/cluster/resources") == 0.01
    assert pve.sim.faults.latency("GET", "/nodes") == 0.0
    assert (await pve.call("GET", "/cluster/resources")).status_code == 200


async def test_task_list_filters_and_ownership(pve: Pve) -> None:
    await pve.create_ct(200)
    await pve.control("POST", "/_sim/faults", json={"kind": "task_failure", "task_type": "vzstart", "message": "boom"})
    await pve.wait(await pve.data("POST", "/nodes/pve1/lxc/200/status/start"))
    tasks = await pve.call("GET", "/nodes/pve1/tasks")
    body = tasks.json()
    assert body["total"] == 2 and sorted(t["type"] for t in body["data"]) == ["vzcreate", "vzstart"]
    entry = body["data"][0]
    assert entry["user"] == "root@pam" and entry["tokenid"] == "admin" and "endtime" in entry
    errors = await pve.data("GET", "/nodes/pve1/tasks", params={"errors": 1})
    assert [(t["type"], t["status"]) for t in errors] == [("vzstart", "boom")]
    ok_only = await pve.data("GET", "/nodes/pve1/tasks", params={"statusfilter": "ok"})
    assert [t["type"] for t in ok_only] == ["vzcreate"]
    assert await pve.data("GET", "/nodes/pve1/tasks", params={"vmid": 999}) == []
    bad = await pve.call("GET", "/nodes/pve1/tasks/not-a-upid/status")
    assert bad.status_code == 400 and bad.json()["errors"] == {"upid": "unable to parse worker upid"}
    grant = {"userid": "dev@pve", "tokenid": "ci", "acl": [{"path": "/vms", "roles": ["PVEVMAdmin"]}],
             "user_acl": [{"path": "/", "roles": ["Administrator"]}]}  # fmt: skip
    token = (await pve.control("POST", "/_sim/tokens", json=grant)).json()
    own = (token["token_id"], token["secret"])
    assert await pve.data("GET", "/nodes/pve1/tasks", token=own) == []  # no Sys.Audit: only its own tasks
    foreign = await pve.call("GET", f"/nodes/pve1/tasks/{entry['upid']}/status", token=own)
    assert (
        foreign.status_code == 403 and foreign.json()["message"] == "Permission check failed (/nodes/pve1, Sys.Audit)\n"
    )
    mine = await pve.wait(await pve.data("POST", "/nodes/pve1/lxc/200/status/start", token=own))
    assert mine["user"] == "dev@pve" and mine["tokenid"] == "ci"
    assert [t["upid"] for t in await pve.data("GET", "/nodes/pve1/tasks", token=own)] == [mine["upid"]]


async def test_power_variants_follow_status_pm(pve: Pve) -> None:
    await pve.create_ct(200)
    reboot = await pve.call("POST", "/nodes/pve1/lxc/200/status/reboot")
    assert reboot.json()["message"] == "VM 200 not running\n"  # sic, PVE's wording for reboot
    skip = await pve.call("POST", "/nodes/pve1/lxc/200/status/start", data={"skiplock": "1"})
    assert skip.status_code == 400 and skip.json()["errors"] == {"skiplock": "Only root may use this option."}
    assert (await pve.wait(await pve.data("POST", "/nodes/pve1/lxc/200/status/start")))["exitstatus"] == "OK"
    rebooted = await pve.wait(await pve.data("POST", "/nodes/pve1/lxc/200/status/reboot"))
    assert rebooted["type"] == "vzreboot" and rebooted["exitstatus"] == "OK"
    assert (await pve.wait(await pve.data("POST", "/nodes/pve1/lxc/200/status/suspend")))["exitstatus"] == "OK"
    assert (await pve.data("GET", "/nodes/pve1/lxc/200/status/current"))["status"] == "stopped"
    resumed = await pve.wait(await pve.data("POST", "/nodes/pve1/lxc/200/status/resume"))
    assert resumed["type"] == "vzresume" and resumed["exitstatus"] == "OK"
    assert (await pve.data("GET", "/nodes/pve1/lxc/200/status/current"))["status"] == "running"


async def test_destroy_protection_and_forced_stop(pve: Pve) -> None:
    await pve.create_ct(200, protection="1")
    protected = await pve.call("DELETE", "/nodes/pve1/lxc/200")
    assert protected.json()["message"] == "can't remove CT 200 - protection mode enabled\n"
    await pve.data("PUT", "/nodes/pve1/lxc/200/config", data={"delete": "protection"})
    assert (await pve.wait(await pve.data("POST", "/nodes/pve1/lxc/200/status/start")))["exitstatus"] == "OK"
    forced = await pve.wait(await pve.data("DELETE", "/nodes/pve1/lxc/200", params={"force": 1, "purge": 1}))
    assert forced["exitstatus"] == "WARNINGS: 1"  # PVE warns "forced to stop CT 200 before destroying!"
    log = [line["t"] for line in await pve.data("GET", f"/nodes/pve1/tasks/{forced['upid']}/log")]
    assert "WARN: forced to stop CT 200 before destroying!" in log and log[-1] == "TASK WARNINGS: 1"
    assert (await pve.call("GET", "/nodes/pve1/lxc/200/config")).status_code == 500


async def test_template_and_clone(pve: Pve) -> None:
    await pve.create_ct(200)
    assert await pve.data("POST", "/nodes/pve1/lxc/200/template") is None  # PVE returns null, yet forks a worker
    await _eventually(lambda: _template_done(pve))
    config = await pve.data("GET", "/nodes/pve1/lxc/200/config")
    assert config["template"] == 1 and config["rootfs"] == "local-lvm:base-200-disk-0,size=8G"
    start = await pve.wait(await pve.data("POST", "/nodes/pve1/lxc/200/status/start"))
    assert start["exitstatus"] == "you can't start a CT if it's a template"
    clone = await pve.wait(
        await pve.data("POST", "/nodes/pve1/lxc/200/clone", data={"newid": "201", "hostname": "copy"})
    )
    assert clone["type"] == "vzclone" and clone["id"] == "200" and clone["exitstatus"] == "OK"
    copy = await pve.data("GET", "/nodes/pve1/lxc/201/config")
    assert copy["hostname"] == "copy" and copy["rootfs"] == "local-lvm:vm-201-disk-0,size=8G" and "template" not in copy
    assert copy["net0"].split("hwaddr=")[1][:17] != config["net0"].split("hwaddr=")[1][:17]
    taken = await pve.call("POST", "/nodes/pve1/lxc/200/clone", data={"newid": "201"})
    assert taken.json()["message"] == "CT 201 already exists on node 'pve1'\n"


async def _template_done(pve: Pve) -> bool:
    return "lock" not in await pve.data("GET", "/nodes/pve1/lxc/200/config")


async def test_bind_mounts_are_root_only(pve: Pve) -> None:
    response = await pve.call("POST", "/nodes/pve1/lxc", data={"vmid": "230", "ostemplate": TEMPLATE,
                              "rootfs": "local-lvm:1", "mp0": "/srv/data,mp=/data"})  # fmt: skip
    assert (
        response.status_code == 500 and response.json()["message"] == "Only root can pass arbitrary filesystem paths.\n"
    )


class _ReportingBackend(MemoryBackend):
    """A backend that knows its CTs' real addresses, as the lxc backend does."""

    created: dict[int, dict[str, object]]

    async def create(self, vmid: int, ostemplate: str, hostname: str, ssh_keys: str | None,
                     params: Mapping[str, object] | None = None) -> None:  # fmt: skip
        self.created[vmid] = dict(params or {})
        await super().create(vmid, ostemplate, hostname, ssh_keys, params)

    async def interfaces(self, vmid: int) -> list[dict[str, str]]:
        loopback = {"name": "lo", "hwaddr": "00:00:00:00:00:00", "inet": "127.0.0.1/8"}
        return [
            loopback,
            {"name": "eth0", "hwaddr": "BC:24:11:00:00:01", "inet": "10.0.3.57/24", "inet6": "fe80::1/64"},
        ]


async def test_backend_gets_config_and_reports_real_interfaces(pve_schema: ApiSchema, tmp_path: Path) -> None:
    sim = make_simulator(pve_schema, tmp_path)
    backend = _ReportingBackend(tmp_path / "real")
    backend.created = {}
    sim.backend = backend
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(sim, CONTROL)), base_url="https://s"
    ) as c:
        pve = Pve(sim, c)
        await pve.create_ct(200, cores="2")
        created = backend.created[200]
        assert created["rootfs"] == "local-lvm:vm-200-disk-0,size=8G" and created["cores"] == 2
        assert "hwaddr=" in str(created["net0"]) and "lock" not in created
        await pve.wait(await pve.data("POST", "/nodes/pve1/lxc/200/status/start"))
        eth0 = (await pve.data("GET", "/nodes/pve1/lxc/200/interfaces"))[1]
        assert eth0["inet"] == "10.0.3.57/24" and eth0["hwaddr"] == "bc:24:11:00:00:01"
        assert {"ip-address": "10.0.3.57", "ip-address-type": "inet", "prefix": 24} in eth0["ip-addresses"]
        await sim.tasks.shutdown()
