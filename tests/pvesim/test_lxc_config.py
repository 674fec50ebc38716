"""PVE create parameters → LXC config and guest files (pure functions; no root or LXC needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lxc_manager.pvesim.backends.lxc_config import (
    ContainerConfigError,
    cgroup_lines,
    parse_property_string,
    render_interfaces,
    render_lxc_config,
    render_resolv_conf,
    spec_from_pve_params,
)
from lxc_manager.pvesim.backends.lxc_host import subid_range_present

PARAMS = {
    "hostname": "web1",
    "memory": "1024",
    "swap": "256",
    "cores": "2",
    "cpulimit": "1.5",
    "unprivileged": "1",
    "features": "nesting=1,keyctl=1",
    "net0": "name=eth0,bridge=vmbr0,ip=10.0.3.50/24,gw=10.0.3.1,hwaddr=BC:24:11:00:00:01,mtu=1400",
    "net1": "name=eth1,bridge=vmbr1,ip=dhcp,ip6=auto",
    "nameserver": "1.1.1.1 9.9.9.9",
    "searchdomain": "lab.example",
}


def test_spec_parses_pve_parameters() -> None:
    spec = spec_from_pve_params(120, PARAMS)
    assert (spec.hostname, spec.memory_mib, spec.swap_mib, spec.cores, spec.cpulimit) == ("web1", 1024, 256, 2, 1.5)
    assert spec.unprivileged and spec.nesting
    eth0, eth1 = spec.nets
    assert (eth0.name, eth0.ip, eth0.gw, eth0.hwaddr, eth0.mtu) == (
        "eth0",
        "10.0.3.50/24",
        "10.0.3.1",
        "BC:24:11:00:00:01",
        1400,
    )
    assert (eth1.ip, eth1.ip6) == ("dhcp", "auto")
    assert eth1.hwaddr.startswith("BC:24:11:") and eth1.hwaddr != eth0.hwaddr
    assert spec.nameserver == ("1.1.1.1", "9.9.9.9")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"net0": "name=eth0,bridge=vmbr0,ip=10.0.3.500/24"}, "invalid ip"),
        ({"net0": "name=this-name-is-far-too-long,bridge=vmbr0"}, "invalid interface name"),
        ({"net0": "name=eth0,hwaddr=zz:00:00:00:00:00"}, "invalid hwaddr"),
        ({"hostname": "bad host"}, "hostname"),
        ({"memory": "lots"}, "memory: not an integer"),
    ],
)
def test_spec_rejects_what_cannot_boot(params: dict[str, str], message: str) -> None:
    with pytest.raises(ContainerConfigError, match=message):
        spec_from_pve_params(120, params)


def test_property_string_default_key_and_errors() -> None:
    assert parse_property_string("local:8,mp=/data", default_key="volume") == {"volume": "local:8", "mp": "/data"}
    with pytest.raises(ContainerConfigError):
        parse_property_string("a,b", default_key="volume")


def test_cgroup_v1_keys_take_effect_on_this_kind_of_host() -> None:
    spec = spec_from_pve_params(120, PARAMS)
    v1 = cgroup_lines(spec, cgroup_v1=True)
    assert "lxc.cgroup.memory.limit_in_bytes = 1073741824" in v1
    assert "lxc.cgroup.cpu.cfs_quota_us = 150000" in v1
    assert not any(line.startswith("lxc.cgroup2.") for line in v1)
    v2 = cgroup_lines(spec, cgroup_v1=False)
    assert "lxc.cgroup2.memory.max = 1073741824" in v2 and "lxc.cgroup2.memory.swap.max = 268435456" in v2
    assert "lxc.cgroup2.cpu.max = 150000 100000" in v2


def test_config_for_unprivileged_nested_container(tmp_path: Path) -> None:
    spec = spec_from_pve_params(120, PARAMS)
    config = render_lxc_config(spec, rootfs="dir:/x/rootfs", host_bridge="lxcbr0", log_file=tmp_path / "l")
    assert "lxc.idmap = u 0 100000 65536" in config and "lxc.idmap = g 0 100000 65536" in config
    assert "lxc.include = /usr/share/lxc/config/userns.conf" in config
    assert "lxc.mount.auto = proc:rw sys:rw cgroup:rw:force" in config
    assert "lxc.net.0.link = lxcbr0" in config and "lxc.net.1.link = lxcbr0" in config  # every vmbrN → lxcbr0
    assert "lxc.net.0.hwaddr = bc:24:11:00:00:01" in config and "lxc.net.0.mtu = 1400" in config
    privileged = spec_from_pve_params(121, {"hostname": "p"})
    plain = render_lxc_config(privileged, rootfs="overlay:/b:/d", host_bridge="lxcbr0", log_file=tmp_path / "l")
    assert "idmap" not in plain and "lxc.net." not in plain


def test_guest_network_files_match_pve_layout() -> None:
    spec = spec_from_pve_params(120, PARAMS)
    interfaces = render_interfaces(spec)
    assert "auto eth0\niface eth0 inet static\n\taddress 10.0.3.50/24\n\tgateway 10.0.3.1\n" in interfaces
    assert "auto eth1\niface eth1 inet dhcp\n\niface eth1 inet6 auto\n" in interfaces
    assert render_resolv_conf(spec, "10.0.3.1") == "search lab.example\nnameserver 1.1.1.1\nnameserver 9.9.9.9\n"
    assert render_resolv_conf(spec_from_pve_params(1, {}), "10.0.3.1") == "nameserver 10.0.3.1\n"


def test_subid_range_check(tmp_path: Path) -> None:
    subuid = tmp_path / "subuid"
    subuid.write_text("alice:200000:65536\n")
    assert not subid_range_present(subuid)
    subuid.write_text("alice:200000:65536\nroot:100000:65536\n")
    assert subid_range_present(subuid)
    assert not subid_range_present(tmp_path / "missing")
