"""API tokens with privilege separation and ACLs: the denials PVE gives on create, power, reads and bridges."""

from __future__ import annotations

from typing import Any

from simkit import Pve

from lxc_manager.pvesim.acl import AccessControl, AclEntry, ApiToken, effective_from_acl, privileges_for

CREATE_FORM = {"vmid": "400", "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
               "rootfs": "local-lvm:4", "net0": "name=eth0,bridge=vmbr1,ip=dhcp"}  # fmt: skip
RO = ("audit@pve!ro", "ro-secret")


async def _token(pve: Pve, acl: list[dict[str, Any]], tokenid: str = "ops") -> tuple[str, str]:
    response = await pve.control("POST", "/_sim/tokens", json={
        "userid": "ops@pve", "tokenid": tokenid, "privsep": True, "acl": acl,
        "user_acl": [{"path": "/", "roles": ["Administrator"]}],
    })  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    return body["token_id"], body["secret"]


def _message(response: Any) -> str:
    assert response.status_code == 403, response.text
    return str(response.json()["message"])


async def test_restricted_token_reads_but_cannot_write(pve: Pve) -> None:
    await pve.create_ct(200)
    config = await pve.call("GET", "/nodes/pve1/lxc/200/config", token=RO)
    assert config.status_code == 200
    stop = await pve.call("POST", "/nodes/pve1/lxc/200/status/start", token=RO)
    assert _message(stop) == "Permission check failed (/vms/200, VM.PowerMgmt)\n"
    create = await pve.call("POST", "/nodes/pve1/lxc", token=RO, data=CREATE_FORM)
    assert _message(create) == "Permission check failed\n"  # create_vm calls raise_perm_exc() bare


async def test_create_needs_allocate_space_on_rootfs_storage(pve: Pve) -> None:
    token = await _token(pve, [
        {"path": "/vms", "roles": ["PVEVMAdmin"]},
        {"path": "/storage/local", "roles": ["PVEDatastoreUser"]},
        {"path": "/sdn", "roles": ["PVESDNUser"]},
    ])  # fmt: skip
    denied = await pve.call("POST", "/nodes/pve1/lxc", token=token, data=CREATE_FORM)
    assert _message(denied) == "Permission check failed (/storage/local-lvm, Datastore.AllocateSpace)\n"


async def test_create_needs_sdn_use_on_the_bridge(pve: Pve) -> None:
    token = await _token(pve, [
        {"path": "/vms", "roles": ["PVEVMAdmin"]},
        {"path": "/storage", "roles": ["PVEDatastoreUser"]},
        {"path": "/sdn/zones/localnetwork/vmbr0", "roles": ["PVESDNUser"]},
    ])  # fmt: skip
    denied = await pve.call("POST", "/nodes/pve1/lxc", token=token, data=CREATE_FORM)
    assert _message(denied) == "Permission check failed (/sdn/zones/localnetwork/vmbr1, SDN.Use)\n"
    allowed = await pve.call(
        "POST", "/nodes/pve1/lxc", token=token, data={**CREATE_FORM, "net0": "name=eth0,bridge=vmbr0"}
    )
    assert allowed.status_code == 200, allowed.text
    status = await pve.wait(allowed.json()["data"])
    assert status["exitstatus"] == "OK" and status["user"] == "ops@pve" and status["tokenid"] == "ops"


async def test_vm_allocate_checked_on_the_vmid_path(pve: Pve) -> None:
    token = await _token(pve, [
        {"path": "/vms/500", "roles": ["PVEVMAdmin"]},
        {"path": "/storage", "roles": ["PVEDatastoreUser"]},
        {"path": "/sdn", "roles": ["PVESDNUser"]},
    ])  # fmt: skip
    denied = await pve.call("POST", "/nodes/pve1/lxc", token=token, data=CREATE_FORM)
    assert _message(denied) == "Permission check failed\n"
    allowed = await pve.call("POST", "/nodes/pve1/lxc", token=token, data={**CREATE_FORM, "vmid": "500"})
    assert allowed.status_code == 200


async def test_lists_are_filtered_by_vm_audit(pve: Pve) -> None:
    await pve.create_ct(200)
    await pve.create_ct(201)
    token = await _token(pve, [{"path": "/vms/201", "roles": ["PVEAuditor"]}])
    listed = await pve.data("GET", "/nodes/pve1/lxc", token=token)
    assert [c["vmid"] for c in listed] == [201]
    resources = await pve.data("GET", "/cluster/resources", token=token, params={"type": "vm"})
    assert [r["vmid"] for r in resources] == [201]
    denied = await pve.call("GET", "/nodes/pve1/lxc/200/status/current", token=token)
    assert _message(denied) == "Permission check failed (/vms/200, VM.Audit)\n"


async def test_permissions_endpoint_shows_effective_privileges(pve: Pve) -> None:
    token = await _token(pve, [{"path": "/vms", "roles": ["PVEVMUser"]}])
    perms = await pve.data("GET", "/access/permissions", token=token)
    assert "VM.PowerMgmt" in perms["/vms"] and "VM.Allocate" not in perms["/vms"]
    assert "/" not in perms  # nothing granted at the root
    exact = await pve.data("GET", "/access/permissions", token=token, params={"path": "/vms/123"})
    assert exact == {"/vms/123": {p: 1 for p in sorted(privileges_for(["PVEVMUser"]))}}


async def test_revoked_token_fault_gives_401(pve: Pve) -> None:
    token = await _token(pve, [{"path": "/", "roles": ["PVEAuditor"]}])
    assert (await pve.call("GET", "/version", token=token)).status_code == 200
    fault = await pve.control("POST", "/_sim/faults", json={"kind": "token_revoked", "token": token[0]})
    assert fault.status_code == 200
    assert (await pve.call("GET", "/version", token=token)).status_code == 401
    await pve.control("DELETE", f"/_sim/faults/{fault.json()['id']}")
    assert (await pve.call("GET", "/version", token=token)).status_code == 200


def test_acl_semantics_specific_path_overrides_and_propagate() -> None:
    acl = [
        AclEntry("/", privileges_for(["PVEAuditor"])),
        AclEntry("/vms/100", privileges_for(["NoAccess"])),
        AclEntry("/storage", privileges_for(["PVEDatastoreUser"]), propagate=False),
    ]
    assert "VM.Audit" in effective_from_acl(acl, "/vms/101")
    assert effective_from_acl(acl, "/vms/100") == frozenset()
    assert "Datastore.AllocateSpace" in effective_from_acl(acl, "/storage")
    assert "Datastore.AllocateSpace" not in effective_from_acl(acl, "/storage/local")
    control = AccessControl()
    token = ApiToken("u@pve", "tk", "s", privsep=True, acl=[AclEntry("/", privileges_for(["Administrator"]))])
    control.add_token(token)
    control.user_acl["u@pve"] = [AclEntry("/", privileges_for(["PVEAuditor"]))]
    assert control.privileges(token, "/vms/1") == privileges_for(["PVEAuditor"])  # intersection with the user
    assert control.authenticate("PVEAPIToken=u@pve!tk=s") is token
    assert control.authenticate("PVEAPIToken=u@pve!tk=x") is None
    assert control.authenticate("PVEAPIToken=u@pve!t=s") is None  # token ids have at least 2 characters


async def test_ticket_login_cookie_and_csrf(pve: Pve) -> None:
    pve.sim.acl.passwords["root@pam"] = "s3cret-pass"
    denied = await pve.client.post("/api2/json/access/ticket", data={"username": "root@pam", "password": "nope"})
    assert denied.status_code == 401 and denied.content == b""
    login = await pve.client.post("/api2/json/access/ticket", data={"username": "root", "realm": "pam",
                                                                    "password": "s3cret-pass"})  # fmt: skip
    assert login.status_code == 200
    body = login.json()["data"]
    assert body["username"] == "root@pam" and body["ticket"].startswith("PVE:root@pam:")
    assert "VM.Allocate" in body["cap"]["vms"] and body["clustername"] == "pvesim"
    cookie = {"Cookie": f"PVEAuthCookie={body['ticket']}"}
    assert (await pve.client.get("/api2/json/nodes", headers=cookie)).status_code == 200
    no_csrf = await pve.client.post("/api2/json/nodes/pve1/lxc/200/status/start", headers=cookie)
    assert no_csrf.status_code == 401
    with_csrf = {**cookie, "CSRFPreventionToken": body["CSRFPreventionToken"]}
    await pve.create_ct(200)
    started = await pve.client.post("/api2/json/nodes/pve1/lxc/200/status/start", headers=with_csrf)
    assert started.status_code == 200 and started.json()["data"].endswith(":root@pam:")
    renewed = await pve.client.post("/api2/json/access/ticket", data={"username": "root@pam",
                                                                      "password": body["ticket"]})  # fmt: skip
    assert renewed.status_code == 200
    token_login = await pve.call("POST", "/access/ticket", data={"username": "root@pam", "password": "x"})
    assert _message(token_login) == (
        "Permission check failed (URI '/access/ticket' not available with API token, need proper ticket.)\n"
    )
