"""Each typed method sends the right method, path and parameters (query for GET/DELETE, form body for POST/PUT,
booleans as 0/1) and parses PVE's answer. Every request here is also validated against apidata.json (conftest)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pve_fake import FakePVE, pve_error, pve_ok

from lxc_manager.integrations.proxmox import (
    FeaturesSpec,
    NetSpec,
    ProxmoxAlreadyExists,
    ProxmoxClient,
    ProxmoxLocked,
    RootfsSpec,
    missing_privileges,
    new_volume,
)

UPID = "UPID:pve1:00083447:0131DE60:6A84EA23:vzstart:101:lxcm@pve!manager:"


def last(fake: FakePVE) -> tuple[str, str, dict[str, str]]:
    record = fake.requests[-1]
    return record.method, record.path, record.params


async def test_version_and_permissions(fake: FakePVE, client: ProxmoxClient) -> None:
    fake.on("GET", "/version", pve_ok({"version": "9.1.9", "release": "9.1", "repoid": "b9984c6d90a4bd80"}))
    assert (await client.version()).version == "9.1.9"
    perms = {"/": {"Sys.Audit": 1}, "/sdn/zones/localnetwork/vmbr0": {"SDN.Use": 1}, "/vms": {"VM.Allocate": 0}}
    fake.on("GET", "/access/permissions", pve_ok(perms))
    assert await client.permissions("/vms") == perms
    assert last(fake) == ("GET", "/access/permissions", {"path": "/vms"})
    assert await client.permissions() == perms
    assert last(fake) == ("GET", "/access/permissions", {})


async def test_cluster_calls(fake: FakePVE, client: ProxmoxClient) -> None:
    resources = [
        {"id": "lxc/101", "type": "lxc", "vmid": "101", "node": "pve1", "status": "running", "template": 0},
        {"id": "node/pve1", "type": "node", "node": "pve1", "status": "online", "cgroup-mode": 2},
        {"id": "storage/pve1/local", "type": "storage", "storage": "local", "content": "vztmpl,iso", "shared": 0},
    ]
    fake.on("GET", "/cluster/resources", pve_ok(resources))
    parsed = await client.cluster_resources("vm")
    assert last(fake) == ("GET", "/cluster/resources", {"type": "vm"})
    assert parsed[0].vmid == 101 and parsed[0].template is False
    assert parsed[1].cgroup_mode == 2
    assert parsed[2].content_types == {"vztmpl", "iso"} and parsed[2].shared is False
    status = [
        {"id": "cluster", "name": "lab", "type": "cluster", "nodes": 2, "quorate": 1, "version": 4},
        {"id": "node/pve1", "name": "pve1", "type": "node", "ip": "10.0.0.1", "online": 1, "local": 1, "nodeid": 1},
    ]
    fake.on("GET", "/cluster/status", pve_ok(status))
    entries = await client.cluster_status()
    assert entries[0].quorate is True and entries[1].online is True


async def test_nextid_is_a_string_on_the_wire_and_vmid_checks(fake: FakePVE, client: ProxmoxClient) -> None:
    fake.on("GET", "/cluster/nextid", pve_ok("100"))
    assert await client.nextid() == 100
    assert last(fake) == ("GET", "/cluster/nextid", {})
    fake.on(
        "GET", "/cluster/nextid", pve_error(400, "Parameter verification failed.", {"vmid": "VM 105 already exists"})
    )
    with pytest.raises(ProxmoxAlreadyExists):
        await client.nextid(105)
    assert last(fake) == ("GET", "/cluster/nextid", {"vmid": "105"})
    assert await client.is_vmid_free(105) is False
    fake.on("GET", "/cluster/nextid", pve_ok("106"))
    assert await client.is_vmid_free(106) is True


async def test_nodes_storage_templates_network(fake: FakePVE, client: ProxmoxClient) -> None:
    fake.on("GET", "/nodes", pve_ok([{"node": "pve1", "status": "online", "maxcpu": 4, "ssl_fingerprint": "AA:BB"}]))
    assert (await client.nodes())[0].node == "pve1"
    fake.on("GET", "/nodes/pve1/status", pve_ok({"uptime": 5, "loadavg": ["0.04", "0.10", "0.00"], "cpu": 0}))
    assert (await client.node_status("pve1")).loadavg == [0.04, 0.10, 0.0]
    storages = [{"storage": "local", "type": "dir", "content": "vztmpl,iso", "enabled": 1, "active": 1, "avail": 9}]
    fake.on("GET", "/nodes/pve1/storage", pve_ok(storages))
    assert (await client.storages("pve1", content="vztmpl", enabled=True))[0].enabled is True
    assert last(fake) == ("GET", "/nodes/pve1/storage", {"content": "vztmpl", "enabled": "1"})
    volid = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
    fake.on(
        "GET",
        "/nodes/pve1/storage/local/content",
        pve_ok([{"volid": volid, "format": "tzst", "size": 123, "content": "vztmpl", "ctime": 1}]),
    )
    assert (await client.storage_content("pve1", "local"))[0].volid == volid
    assert last(fake) == ("GET", "/nodes/pve1/storage/local/content", {"content": "vztmpl"})
    apl = {"template": "debian-12-standard_12.7-1_amd64.tar.zst", "type": "lxc", "os": "debian-12", "section": "system"}
    fake.on("GET", "/nodes/pve1/aplinfo", pve_ok([apl]))
    assert (await client.aplinfo("pve1"))[0].os == "debian-12"
    download = "UPID:pve1:0000AAAA:0000BBBB:6A84EA23:download::lxcm@pve!manager:"
    fake.on("POST", "/nodes/pve1/aplinfo", pve_ok(download))
    assert await client.download_template("pve1", "local", apl["template"]) == download
    assert last(fake) == ("POST", "/nodes/pve1/aplinfo", {"storage": "local", "template": apl["template"]})
    fake.on("GET", "/nodes/pve1/network", pve_ok([{"iface": "vmbr0", "type": "bridge", "active": 1}]))
    assert (await client.networks("pve1"))[0].iface == "vmbr0"
    assert last(fake) == ("GET", "/nodes/pve1/network", {"type": "any_bridge"})
    await client.networks("pve1", "bridge")
    assert last(fake) == ("GET", "/nodes/pve1/network", {"type": "bridge"})


async def test_lxc_create_is_form_encoded_with_0_1_booleans(fake: FakePVE, client: ProxmoxClient) -> None:
    create_upid = "UPID:pve1:00109F67:023CA533:6A879515:vzcreate:201:lxcm@pve!manager:"
    fake.on("POST", "/nodes/pve1/lxc", pve_ok(create_upid))
    params: dict[str, Any] = {
        "vmid": 201,
        "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
        "hostname": "web-1",
        "memory": 512,
        "cores": 1,
        "unprivileged": True,
        "start": False,
        "rootfs": RootfsSpec(volume=new_volume("local-lvm", 8)).build(),
        "net0": NetSpec(name="eth0", bridge="vmbr0", ip="dhcp", firewall=True).build(),
        "features": FeaturesSpec(nesting=True, keyctl=True).build(),
        "tags": "lxcm;d-1234",
        "description": None,
    }
    seen: list[httpx.Request] = []

    def capture(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return pve_ok(create_upid)

    fake.on("POST", "/nodes/pve1/lxc", capture)
    assert await client.lxc_create("pve1", params) == create_upid
    assert seen[0].headers["content-type"] == "application/x-www-form-urlencoded"
    assert seen[0].url.query == b""
    assert last(fake)[2] == {
        "vmid": "201",
        "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
        "hostname": "web-1",
        "memory": "512",
        "cores": "1",
        "unprivileged": "1",
        "start": "0",
        "rootfs": "local-lvm:8",
        "net0": "name=eth0,bridge=vmbr0,ip=dhcp,firewall=1",
        "features": "nesting=1,keyctl=1",
        "tags": "lxcm;d-1234",
    }
    with pytest.raises(ValueError):
        await client.lxc_create("pve1", {"hostname": "x"})


async def test_lxc_config_get_put_and_delete(fake: FakePVE, client: ProxmoxClient) -> None:
    config = {
        "memory": "512", "net0": "name=eth0,bridge=vmbr0,ip=dhcp", "net1": "name=eth1,bridge=vmbr1", "unprivileged": 1,
        "digest": "4202c1092a6b4e06374400f8f332c3b6fadb450b", "rootfs": "local-lvm:vm-201-disk-0,size=8G",
    }  # fmt: skip
    fake.on("GET", "/nodes/pve1/lxc/201/config", pve_ok(config))
    parsed = await client.lxc_config("pve1", 201)
    assert parsed.memory == 512 and parsed.unprivileged is True
    assert parsed.indexed("net") == {0: config["net0"], 1: config["net1"]}
    fake.on("PUT", "/nodes/pve1/lxc/201/config", pve_ok(None))
    await client.lxc_update_config(
        "pve1", 201, {"memory": 1024, "onboot": True}, digest=parsed.digest, delete=["net1", "mp0"]
    )
    assert last(fake) == (
        "PUT",
        "/nodes/pve1/lxc/201/config",
        {"memory": "1024", "onboot": "1", "digest": config["digest"], "delete": "net1,mp0"},
    )
    delete_upid = "UPID:pve1:00083447:0131DE60:6A84EA23:vzdestroy:201:lxcm@pve!manager:"
    fake.on("DELETE", "/nodes/pve1/lxc/201", pve_ok(delete_upid))
    assert await client.lxc_delete("pve1", 201, purge=True, destroy_unreferenced_disks=True, force=True) == delete_upid
    assert last(fake) == (
        "DELETE",
        "/nodes/pve1/lxc/201",
        {"purge": "1", "destroy-unreferenced-disks": "1", "force": "1"},
    )


async def test_lxc_power_and_status(fake: FakePVE, client: ProxmoxClient) -> None:
    status = {"vmid": 101, "status": "stopped", "name": "web", "ha": {"managed": 0}, "cpu": -5.7e-05}
    fake.on("GET", "/nodes/pve1/lxc/101/status/current", pve_ok(status))
    current = await client.lxc_status("pve1", 101)
    assert current.status == "stopped" and current.pid is None and current.ha == {"managed": 0}
    for action in ("start", "stop", "shutdown", "reboot"):
        fake.on("POST", f"/nodes/pve1/lxc/101/status/{action}", pve_ok(UPID))
    assert await client.lxc_start("pve1", 101) == UPID
    assert last(fake) == ("POST", "/nodes/pve1/lxc/101/status/start", {})
    await client.lxc_stop("pve1", 101, overrule_shutdown=True)
    assert last(fake)[2] == {"overrule-shutdown": "1"}
    await client.lxc_shutdown("pve1", 101, timeout=30, force_stop=True)
    assert last(fake)[2] == {"timeout": "30", "forceStop": "1"}
    await client.lxc_reboot("pve1", 101, timeout=60)
    assert last(fake)[2] == {"timeout": "60"}


async def test_lxc_interfaces_rrd_and_snapshots(fake: FakePVE, client: ProxmoxClient) -> None:
    interfaces = [
        {"name": "lo", "hwaddr": "00:00:00:00:00:00", "inet": "127.0.0.1/8"},
        {"name": "eth0", "hwaddr": "BC:24:11:07:CC:54", "inet": "10.0.0.50/24",
         "ip-addresses": [{"ip-address": "10.0.0.50", "ip-address-type": "inet", "prefix": 24}]},
    ]  # fmt: skip
    fake.on("GET", "/nodes/pve1/lxc/101/interfaces", pve_ok(interfaces))
    parsed = await client.lxc_interfaces("pve1", 101)
    assert parsed[1].ip_addresses[0].ip_address == "10.0.0.50"
    fake.on("GET", "/nodes/pve1/lxc/101/rrddata", pve_ok([{"time": 1700000000, "cpu": 0.01, "maxmem": 536870912}]))
    points = await client.lxc_rrddata("pve1", 101, "day", "MAX")
    assert points[0]["time"] == 1700000000
    assert last(fake) == ("GET", "/nodes/pve1/lxc/101/rrddata", {"timeframe": "day", "cf": "MAX"})
    snaps = [{"name": "current", "description": "You are here!", "digest": "5e3a", "running": 1}, {"name": "pre"}]
    fake.on("GET", "/nodes/pve1/lxc/101/snapshot", pve_ok(snaps))
    assert [s.name for s in await client.lxc_snapshots("pve1", 101)] == ["current", "pre"]
    fake.on("POST", "/nodes/pve1/lxc/101/snapshot", pve_ok(UPID))
    await client.lxc_snapshot_create("pve1", 101, "pre_upgrade", description="before apt upgrade")
    assert last(fake)[2] == {"snapname": "pre_upgrade", "description": "before apt upgrade"}
    fake.on("DELETE", "/nodes/pve1/lxc/101/snapshot/pre_upgrade", pve_ok(UPID))
    await client.lxc_snapshot_delete("pve1", 101, "pre_upgrade", force=True)
    assert last(fake) == ("DELETE", "/nodes/pve1/lxc/101/snapshot/pre_upgrade", {"force": "1"})
    fake.on("POST", "/nodes/pve1/lxc/101/snapshot/pre_upgrade/rollback", pve_ok(UPID))
    await client.lxc_snapshot_rollback("pve1", 101, "pre_upgrade", start=True)
    assert last(fake) == ("POST", "/nodes/pve1/lxc/101/snapshot/pre_upgrade/rollback", {"start": "1"})


async def test_upid_in_path_keeps_its_characters(fake: FakePVE, client: ProxmoxClient) -> None:
    seen: list[httpx.Request] = []

    def capture(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return pve_ok({"upid": UPID, "node": "pve1", "status": "running", "type": "vzstart", "id": "101",
                       "user": "lxcm@pve", "tokenid": "manager"})  # fmt: skip

    fake.on("GET", f"/nodes/pve1/tasks/{UPID}/status", capture)
    status = await client.task_status(UPID)
    assert status.running and status.tokenid == "manager"
    assert seen[0].url.raw_path.decode() == f"/api2/json/nodes/pve1/tasks/{UPID}/status"
    assert seen[0].content == b""


async def test_auth_header_and_base_url(fake: FakePVE, client: ProxmoxClient) -> None:
    fake.on("GET", "/version", pve_ok({"version": "9.1.9", "release": "9.1", "repoid": "b9984c6d"}))
    await client.version()
    record = fake.requests[-1]
    assert record.headers["authorization"] == "PVEAPIToken=lxcm@pve!manager=5f0c3a1e-7d2b-4c9e-9a61-0b8f2d4e6c3a"
    assert "csrfpreventiontoken" not in record.headers
    assert client.base_url == "https://pve1.test:8006/api2/json"
    for url in ("pve2", "pve2:8006", "https://pve2:8006/", "https://pve2:8006/api2/json"):
        assert ProxmoxClient(url, "a@pve!t", "s").base_url == "https://pve2:8006/api2/json"
    assert ProxmoxClient("https://pve2", "a@pve!t", "s").base_url == "https://pve2:443/api2/json"
    assert ProxmoxClient("https://[::1]:8006", "a@pve!t", "s").base_url == "https://[::1]:8006/api2/json"
    for bad in ("ftp://pve2", "https://", "https://pve2:99999"):
        with pytest.raises(ValueError):
            ProxmoxClient(bad, "a@pve!t", "s")
    with pytest.raises(ValueError):
        ProxmoxClient("https://x", "no-token-name", "s")
    with pytest.raises(ValueError):
        ProxmoxClient("https://x", "a@pve!t", "")


def test_missing_privileges_follows_pve_acl_inheritance() -> None:
    perms = {
        "/": {"Sys.Audit": 0},
        "/vms": {"VM.Allocate": 1, "VM.Audit": 1, "VM.PowerMgmt": 0},
        "/storage/local-lvm": {"Datastore.AllocateSpace": 1},
        "/sdn/zones/localnetwork/vmbr0": {"SDN.Use": 1},
    }
    assert missing_privileges(perms, "/vms", ["VM.Allocate", "VM.PowerMgmt"]) == []
    assert missing_privileges(perms, "/vms/201", ["VM.Allocate", "VM.PowerMgmt"]) == ["VM.PowerMgmt"]
    assert missing_privileges(perms, "/storage/local-lvm", ["Datastore.AllocateSpace"]) == []
    assert missing_privileges(perms, "/storage/local", ["Datastore.AllocateSpace"]) == ["Datastore.AllocateSpace"]
    assert missing_privileges(perms, "/sdn/zones/localnetwork/vmbr1", ["SDN.Use"]) == ["SDN.Use"]
    assert missing_privileges(perms, "/nodes/pve1", ["Sys.Audit"]) == ["Sys.Audit"]
    assert missing_privileges({}, "/vms", ["VM.Audit"]) == ["VM.Audit"]


async def test_wait_unlocked_polls_the_config_lock(fake: FakePVE, client: ProxmoxClient) -> None:
    locked = pve_ok({"lock": "create", "hostname": "web", "digest": "aa"})
    fake.on("GET", "/nodes/pve1/lxc/201/config", locked, locked, pve_ok({"hostname": "web", "digest": "bb"}))
    config = await client.wait_unlocked("pve1", 201, timeout=5, poll_interval=0)
    assert config.lock is None and config.digest == "bb"
    assert fake.count("GET", "/nodes/pve1/lxc/201/config") == 3
    fake.on("GET", "/nodes/pve1/lxc/201/config", pve_ok({"lock": "backup", "digest": "cc"}))
    with pytest.raises(ProxmoxLocked) as info:
        await client.wait_unlocked("pve1", 201, timeout=0.05, poll_interval=0.01)
    assert info.value.lock == "backup"
