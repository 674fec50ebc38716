"""The validator against real entries of the official schema: messages as PVE's JSONSchema.pm prints them."""

from __future__ import annotations

import pytest

from lxc_manager.pvesim.schema import (
    MISSING,
    NOT_DEFINED,
    ApiSchema,
    MethodNotImplemented,
    PropertyStringError,
    SchemaUnavailable,
    coerce_params,
    parse_property_string,
)

CREATE = "/nodes/pve1/lxc"
BASE = {"vmid": "200", "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"}


def test_route_table_covers_the_tree(pve_schema: ApiSchema) -> None:
    assert len(pve_schema.routes) > 400
    found = pve_schema.match("POST", "/nodes/pve1/lxc/105/status/start")
    assert found.info.path == "/nodes/{node}/lxc/{vmid}/status/start"
    assert found.path_params == {"node": "pve1", "vmid": "105"}
    assert found.info.permissions["check"] == ["perm", "/vms/{vmid}", ["VM.PowerMgmt"]]
    assert found.info.allowtoken is True and found.info.proxyto == "node"


def test_literal_segment_wins_over_parameter(pve_schema: ApiSchema) -> None:
    assert pve_schema.match("GET", "/nodes/pve1/lxc/100/status/current").info.path.endswith("/status/current")
    assert pve_schema.match("GET", "/cluster/nextid").info.path == "/cluster/nextid"


def test_volume_swallows_the_rest_of_the_path(pve_schema: ApiSchema) -> None:
    found = pve_schema.match("GET", "/nodes/pve1/storage/local/content/local:vztmpl/debian.tar.zst")
    assert found.path_params["volume"] == "local:vztmpl/debian.tar.zst"


@pytest.mark.parametrize(("method", "path"), [("GET", "/x"), ("PATCH", "/version"), ("GET", "/nodes/pve1/bogus")])
def test_unknown_route_is_501_message(pve_schema: ApiSchema, method: str, path: str) -> None:
    with pytest.raises(MethodNotImplemented) as caught:
        pve_schema.match(method, path)
    assert caught.value.message == f"Method '{method} {path}' not implemented"


def test_valid_create_passes(pve_schema: ApiSchema) -> None:
    params = {**BASE, "net0": "name=eth0,bridge=vmbr0,ip=dhcp", "rootfs": "local-lvm:8", "unprivileged": "1"}
    assert pve_schema.validate("POST", CREATE, params) == {}
    assert pve_schema.validate("POST", CREATE, {**BASE, "unprivileged": True, "start": False}) == {}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("unprivileged", "True", "type check ('boolean') failed - got 'True'"),
        ("unprivileged", "yes", "type check ('boolean') failed - got 'yes'"),
        ("cores", "two", "type check ('integer') failed - got 'two'"),
        ("cpulimit", "x", "type check ('number') failed - got 'x'"),
        ("memory", "8", "value must have a minimum value of 16"),
        ("cores", "9000", "value must have a maximum value of 8192"),
        ("ostype", "windows", "value 'windows' does not have a value in the enumeration"),
        ("hostname", "bad_name!", "invalid format - value does not look like a valid DNS name\n"),
        ("vmid", "99", "invalid format - value does not look like a valid VM ID\n"),
        ("storage", "1bad", "invalid format - storage ID '1bad' contains illegal characters\n"),
        ("password", "abc", "value must be at least 5 characters long"),
        ("bogus", "1", NOT_DEFINED),
        ("net32", "name=eth0", NOT_DEFINED),
    ],
)
def test_parameter_errors(pve_schema: ApiSchema, name: str, value: str, message: str) -> None:
    errors = pve_schema.validate("POST", CREATE, {**BASE, name: value})
    assert set(errors) == {name}
    assert errors[name].startswith(message)


def test_missing_required(pve_schema: ApiSchema) -> None:
    assert pve_schema.validate("POST", CREATE, {"vmid": "200"}) == {"ostemplate": MISSING}


def test_path_and_body_conflict(pve_schema: ApiSchema) -> None:
    errors = pve_schema.validate("PUT", "/nodes/pve1/lxc/100/config", {"vmid": "101"})
    assert errors == {"vmid": "duplicate parameter (already defined in URI) with conflicting values!"}
    assert pve_schema.validate("PUT", "/nodes/pve1/lxc/100/config", {"vmid": "100", "cores": "2"}) == {}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("net0", "name=eth0,bridge=vmbr0,ip=dhcpx", "net0.ip: invalid format - value does not look like a valid ipv4"),
        ("net0", "name=eth0,name=eth1", "duplicate key in comma-separated list property: name"),
        ("net0", "name=eth0,colour=red", "invalid key in comma-separated list property: colour"),
        ("net0", "eth0", "value without key, but schema does not define a default key"),
        ("net0", "name=eth0,firewall=maybe", "net0.firewall: type check ('boolean') failed - got 'maybe'"),
        ("net0", "name=eth0,hwaddr=01:00:00:00:00:00", "valid unicast MAC address"),
        ("rootfs", "local-lvm:8,local-lvm:9", "duplicate key in comma-separated list property: volume"),
        ("rootfs", "local-lvm:8,size=huge", "rootfs.size: invalid format - value 'huge' is not a valid disk size"),
        ("mp0", "local-lvm:8", "mp0.mp: property is missing and it is not optional"),
        ("features", "nesting=1,bogus=1", "invalid key in comma-separated list property: bogus"),
    ],
)
def test_property_string_errors(pve_schema: ApiSchema, name: str, value: str, message: str) -> None:
    errors = pve_schema.validate("POST", CREATE, {**BASE, name: value})
    assert set(errors) == {name}
    assert errors[name].startswith("invalid format - ")
    assert message in errors[name]


def test_property_string_parsing(pve_schema: ApiSchema) -> None:
    net = pve_schema.info("POST", "/nodes/{node}/lxc").property("net0")
    assert net is not None
    parsed = parse_property_string(net["format"], "name=eth0,bridge=vmbr0,firewall=yes,ip=10.0.0.5/24")
    assert parsed == {"name": "eth0", "bridge": "vmbr0", "firewall": 1, "ip": "10.0.0.5/24"}
    rootfs = pve_schema.info("POST", "/nodes/{node}/lxc").property("rootfs")
    assert rootfs is not None
    assert parse_property_string(rootfs["format"], "local-lvm:8")["volume"] == "local-lvm:8"
    with pytest.raises(PropertyStringError):
        parse_property_string(rootfs["format"], "size=8G")


def test_coerce_types(pve_schema: ApiSchema) -> None:
    info = pve_schema.info("POST", "/nodes/{node}/lxc")
    typed = coerce_params(info, {"vmid": "200", "start": "1", "unprivileged": False, "cpulimit": "1.5"})
    assert typed == {"vmid": 200, "start": True, "unprivileged": False, "cpulimit": 1.5}


def test_missing_schema_refuses(tmp_path: object) -> None:
    with pytest.raises(SchemaUnavailable, match="not found"):
        ApiSchema.load("/nonexistent/apidata.json")
