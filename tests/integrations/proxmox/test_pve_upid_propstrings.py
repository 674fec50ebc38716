"""UPID and property-string round trips (hypothesis), checked against PVE's formats and the recorded fixtures."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lxc_manager.integrations.proxmox import (
    UPID,
    FeaturesSpec,
    MountPointSpec,
    NetSpec,
    RootfsSpec,
    build_property_string,
    new_volume,
    parse_property_string,
    parse_upid,
)
from lxc_manager.integrations.proxmox.upid import UPID_RE

upids = st.builds(
    UPID,
    node=st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9\-]{0,20}[a-zA-Z0-9])?", fullmatch=True),
    pid=st.integers(0, 0xFFFFFFFF),
    pstart=st.integers(0, 0xFFFFFFFFF),
    starttime=st.integers(0, 0xFFFFFFFF),
    type=st.from_regex(r"[^:\s/]{1,12}", fullmatch=True),
    id=st.from_regex(r"[^:\s/]{0,12}", fullmatch=True),
    user=st.from_regex(r"[a-z]{1,8}@[a-z]{1,5}(![a-z0-9]{1,8})?", fullmatch=True),
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(upids)
def test_upid_round_trip(upid: UPID) -> None:
    text = upid.format()
    assert UPID_RE.match(text)
    assert text.endswith(":")
    assert parse_upid(text) == upid
    assert parse_upid(text).format() == text


@pytest.mark.parametrize(
    "text",
    [
        "UPID:pve:00109F67:023CA533:6A879515:vzcreate:201:root@pam!pruebalucas:",
        "UPID:node1:000FF1FD:10F9374C:630D702C:vzdump:110:root@pam:",
        "UPID:pve-2:0000ABCD:1234ABCDE:6A84EA54:aptupdate::root@pam:",
    ],
)
def test_real_upids_parse_and_format_identically(text: str) -> None:
    assert parse_upid(text).format() == text


def test_upid_token_user_split() -> None:
    upid = parse_upid("UPID:pve:0008380E:0131F1BF:6A84EA54:vzreboot:101:root@pam!pruebalucas:")
    assert (upid.node, upid.type, upid.id, upid.pid) == ("pve", "vzreboot", "101", 0x8380E)
    assert upid.userid == "root@pam" and upid.tokenid == "pruebalucas"
    assert upid.starttime == 0x6A84EA54


@pytest.mark.parametrize(
    "text",
    [
        "UPID:pve:00109F67:023CA533:6A879515:vzcreate:201:root@pam",  # no trailing ':'
        "UPID:-pve:00109F67:023CA533:6A879515:vzcreate:201:root@pam:",
        "UPID:pve:109F67:023CA533:6A879515:vzcreate:201:root@pam:",
        "UPID:pve:00109F67:023CA533:6A879515:vz create:201:root@pam:",
        "not a upid",
    ],
)
def test_malformed_upids_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_upid(text)


keys = st.from_regex(r"[a-z][a-z0-9_\-]{0,10}", fullmatch=True)
values = st.text(st.characters(exclude_characters=",", exclude_categories=["Cs"]), min_size=1, max_size=20)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(keys, values, max_size=6), st.one_of(st.none(), values.filter(lambda v: "=" not in v)))
def test_property_string_round_trip(pairs: dict[str, str], default_value: str | None) -> None:
    pairs.pop("volume", None)
    source = {"volume": default_value, **pairs} if default_value is not None else pairs
    text = build_property_string(source, default_key="volume")
    parsed = parse_property_string(text, default_key="volume")
    assert parsed == {k: v for k, v in source.items() if v is not None}


net_specs = st.builds(
    NetSpec,
    name=st.from_regex(r"eth[0-9]{1,2}", fullmatch=True),
    bridge=st.from_regex(r"vmbr[0-9]{1,3}", fullmatch=True),
    ip=st.sampled_from(["dhcp", "manual", "10.0.0.5/24", None]),
    gw=st.sampled_from([None, "10.0.0.1"]),
    tag=st.one_of(st.none(), st.integers(1, 4094)),
    mtu=st.one_of(st.none(), st.integers(64, 65535)),
    rate=st.one_of(st.none(), st.floats(0, 10000, allow_nan=False, allow_infinity=False)),
    firewall=st.one_of(st.none(), st.booleans()),
    host_managed=st.one_of(st.none(), st.booleans()),
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net_specs)
def test_net_spec_round_trip(spec: NetSpec) -> None:
    assert NetSpec.parse(spec.build()) == spec


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.builds(
        FeaturesSpec,
        nesting=st.one_of(st.none(), st.booleans()),
        keyctl=st.one_of(st.none(), st.booleans()),
        fuse=st.one_of(st.none(), st.booleans()),
        mount=st.one_of(st.none(), st.sampled_from(["nfs", "nfs;cifs"])),
    )
)
def test_features_round_trip(spec: FeaturesSpec) -> None:
    assert FeaturesSpec.parse(spec.build()) == spec


def test_config_values_read_back_from_pve() -> None:
    net = "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:07:CC:54,ip=dhcp,type=veth"
    spec = NetSpec.parse(net)
    assert (spec.name, spec.bridge, spec.hwaddr, spec.ip, spec.type) == (
        "eth0",
        "vmbr0",
        "BC:24:11:07:CC:54",
        "dhcp",
        "veth",
    )
    assert spec.build() == net
    rootfs = RootfsSpec.parse("local-lvm:vm-201-disk-0,size=8G")
    assert (rootfs.volume, rootfs.size) == ("local-lvm:vm-201-disk-0", "8G")
    assert rootfs.build() == "local-lvm:vm-201-disk-0,size=8G"
    mp = MountPointSpec.parse("local-lvm:10,mp=/data,backup=1")
    assert (mp.volume, mp.mp, mp.backup) == ("local-lvm:10", "/data", True)
    assert FeaturesSpec.parse("nesting=1,keyctl=on").keyctl is True


def test_unknown_keys_are_kept_and_duplicates_rejected() -> None:
    spec = NetSpec.parse("name=eth0,bridge=vmbr0,future-key=x")
    assert spec.extra == {"future-key": "x"}
    assert "future-key=x" in spec.build()
    with pytest.raises(ValueError, match="duplicate"):
        parse_property_string("name=eth0,name=eth1")
    with pytest.raises(ValueError):
        parse_property_string("eth0")  # no default key for net
    with pytest.raises(ValueError):
        build_property_string({"name": "a,b"})
    with pytest.raises(ValueError):
        FeaturesSpec.parse("nesting=maybe")


def test_new_volume() -> None:
    assert new_volume("local-lvm", 8) == "local-lvm:8"
    assert new_volume("local", 0.5) == "local:0.5"
    assert RootfsSpec(volume=new_volume("local-lvm", 8)).build() == "local-lvm:8"
    with pytest.raises(ValueError):
        new_volume("local lvm", 8)
    with pytest.raises(ValueError):
        new_volume("local", 0)
