"""The HTTPS API through ASGI: envelope, error classes and shapes, request encodings."""

from __future__ import annotations

import asyncio
import json

import pytest
from simkit import Pve


async def test_envelope_and_headers(pve: Pve) -> None:
    response = await pve.call("GET", "/version")
    assert response.status_code == 200
    assert response.headers["server"] == "pve-api-daemon/3.0"
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    assert response.json() == {"data": {"version": "9.1.9", "release": "9.1", "repoid": "5e4cc71ff9ab9a8e"}}


async def test_401_without_or_with_bad_token_has_empty_body(pve: Pve) -> None:
    anonymous = await pve.client.get("/api2/json/version")
    assert anonymous.status_code == 401 and anonymous.content == b""
    wrong = await pve.call("GET", "/version", token=("root@pam!admin", "wrong"))
    assert wrong.status_code == 401 and wrong.content == b""
    garbage = await pve.client.get("/api2/json/version", headers={"Authorization": "PVEAPIToken=nonsense"})
    assert garbage.status_code == 401


async def test_501_unknown_path_method_and_body_on_get(pve: Pve) -> None:
    unknown = await pve.call("GET", "/nodes/pve1/bogus")
    assert unknown.status_code == 501
    assert unknown.json() == {"data": None, "message": "Method 'GET /nodes/pve1/bogus' not implemented\n"}
    wrong_method = await pve.call("PUT", "/version")
    assert wrong_method.status_code == 501
    body_on_get = await pve.call("GET", "/version", content=b"x=1")
    assert body_on_get.status_code == 501
    assert body_on_get.json()["message"] == "Unexpected content for method 'GET'\n"


async def test_400_parameter_verification(pve: Pve) -> None:
    response = await pve.call(
        "POST", "/nodes/pve1/lxc", data={"vmid": "50", "ostemplate": "x", "unprivileged": "True", "colour": "red"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Parameter verification failed.\n" and body["data"] is None
    assert body["errors"] == {
        "vmid": "invalid format - value does not look like a valid VM ID\n",
        "unprivileged": "type check ('boolean') failed - got 'True'",
        "colour": "property is not defined in schema and the schema does not allow additional properties",
    }


async def test_400_duplicate_uri_parameter(pve: Pve) -> None:
    await pve.create_ct(200)
    response = await pve.call("PUT", "/nodes/pve1/lxc/200/config", data={"vmid": "201", "cores": "2"})
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "vmid": "duplicate parameter (already defined in URI) with conflicting values!"
    }


async def test_500_missing_ct_and_unknown_node(pve: Pve) -> None:
    missing = await pve.call("GET", "/nodes/pve1/lxc/999/status/current")
    assert missing.status_code == 500
    assert missing.json() == {"data": None, "message": "Configuration file 'nodes/pve1/lxc/999.conf' does not exist\n"}
    other_node = await pve.create_ct(300, node="pve2")
    assert other_node["exitstatus"] == "OK"
    wrong_node = await pve.call("GET", "/nodes/pve1/lxc/300/config")
    assert wrong_node.status_code == 500
    unknown = await pve.call("GET", "/nodes/pve9/lxc")
    assert unknown.status_code == 500
    assert unknown.json()["message"].startswith("hostname lookup 'pve9' failed")


async def test_json_body_accepts_json_booleans(pve: Pve) -> None:
    body = {"vmid": 210, "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
            "unprivileged": True, "rootfs": "local-lvm:2"}  # fmt: skip
    upid = await pve.data("POST", "/nodes/pve1/lxc", content=json.dumps(body),
                          headers={"Content-Type": "application/json"})  # fmt: skip
    assert (await pve.wait(upid))["exitstatus"] == "OK"
    config = await pve.data("GET", "/nodes/pve1/lxc/210/config")
    assert config["unprivileged"] == 1 and config["rootfs"] == "local-lvm:vm-210-disk-0,size=2G"
    bad = await pve.call("POST", "/nodes/pve1/lxc", json={"vmid": 211, "ostemplate": "x", "unprivileged": "true"})
    assert bad.json()["errors"] == {"unprivileged": "type check ('boolean') failed - got 'true'"}


async def test_volume_path_parameter_takes_slashes(pve: Pve) -> None:
    info = await pve.data(
        "GET", "/nodes/pve1/storage/local/content/local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
    )
    assert info["format"] == "tzst" and info["size"] > 0


async def test_read_endpoints_shapes(pve: Pve) -> None:
    nodes = await pve.data("GET", "/nodes")
    assert [n["node"] for n in nodes] == ["pve1", "pve2", "pve3"]
    assert all(n["status"] == "online" and n["ssl_fingerprint"] == "AA:BB" for n in nodes)
    storages = await pve.data("GET", "/nodes/pve1/storage", params={"content": "rootdir"})
    assert [s["storage"] for s in storages] == ["local-lvm"] and storages[0]["avail"] > 0
    content = await pve.data("GET", "/nodes/pve1/storage/local/content", params={"content": "vztmpl"})
    assert "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" in [c["volid"] for c in content]
    bridges = await pve.data("GET", "/nodes/pve1/network", params={"type": "bridge"})
    assert [b["iface"] for b in bridges] == ["vmbr0", "vmbr1"]
    status = await pve.data("GET", "/nodes/pve2/status")
    assert status["memory"]["total"] > status["memory"]["used"] > 0
    cluster = await pve.data("GET", "/cluster/status")
    assert cluster[0]["type"] == "cluster" and cluster[0]["nodes"] == 3
    aplinfo = await pve.data("GET", "/nodes/pve1/aplinfo")
    assert any(a["template"].startswith("alpine") for a in aplinfo)


async def test_storage_allocate_upload_download_and_delete(pve: Pve) -> None:
    volid = await pve.data("POST", "/nodes/pve1/storage/local-lvm/content",
                           data={"vmid": "250", "filename": "vm-250-disk-0", "size": "2G"})  # fmt: skip
    assert volid == "local-lvm:vm-250-disk-0"
    bad_name = await pve.call("POST", "/nodes/pve1/storage/local-lvm/content",
                              data={"vmid": "250", "filename": "vm-251-disk-0", "size": "2G"})  # fmt: skip
    assert bad_name.status_code == 500
    deleted = await pve.wait(await pve.data("DELETE", f"/nodes/pve1/storage/local-lvm/content/{volid}"))
    assert deleted["type"] == "imgdel" and deleted["exitstatus"] == "OK"
    upload = await pve.call(
        "POST", "/nodes/pve1/storage/local/upload", data={"content": "vztmpl"},
        files={"filename": ("custom-1.0_amd64.tar.gz", b"x" * 1000, "application/octet-stream")},
    )  # fmt: skip
    assert upload.status_code == 200, upload.text
    assert (await pve.wait(upload.json()["data"]))["type"] == "imgcopy"
    url = "https://images.example/debian-custom_1_amd64.tar.zst"
    download = await pve.data(
        "POST",
        "/nodes/pve2/storage/local/download-url",
        data={"content": "vztmpl", "filename": "debian-custom_1_amd64.tar.zst", "url": url},
    )
    assert (await pve.wait(download, "pve2"))["exitstatus"] == "OK"
    fetched = await pve.wait(
        await pve.data(
            "POST",
            "/nodes/pve1/aplinfo",
            data={"storage": "local", "template": "alpine-3.22-default_20250617_amd64.tar.xz"},
        )
    )
    assert fetched["type"] == "download" and fetched["exitstatus"] == "OK"
    templates = {c["volid"]: c for c in await pve.data("GET", "/nodes/pve1/storage/local/content")}
    assert templates["local:vztmpl/custom-1.0_amd64.tar.gz"]["size"] == 1000
    assert templates["local:vztmpl/alpine-3.22-default_20250617_amd64.tar.xz"]["format"] == "txz"
    pve2 = {c["volid"] for c in await pve.data("GET", "/nodes/pve2/storage/local/content")}
    assert "local:vztmpl/debian-custom_1_amd64.tar.zst" in pve2
    no_template = await pve.call("POST", "/nodes/pve1/aplinfo", data={"storage": "local", "template": "nope.tar.gz"})
    assert no_template.status_code == 500 and no_template.json()["message"] == "no such template\n"


async def test_401_waits_the_auth_delay(pve: Pve, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(delay: float) -> None:
        slept.append(delay)
        await real_sleep(0)

    pve.sim.config.auth_delay = 3.0
    monkeypatch.setattr("lxc_manager.pvesim.app.asyncio.sleep", recording_sleep)
    assert (await pve.client.get("/api2/json/nodes")).status_code == 401
    assert slept == [3.0]
    assert (await pve.call("GET", "/nodes")).status_code == 200 and slept == [3.0]  # valid calls are not delayed
