"""Turn PVE container create parameters into a real LXC config and the guest files PVE would write.

Only what matters for a booting Debian system container on this host is translated: hostname, memory/swap,
cores/cpulimit/cpuunits (cgroup v1 keys on a legacy/hybrid host, cgroup2 keys on a unified one), unprivileged
(idmap 0→100000, size 65536, like PVE), ``features: nesting=1``, ``netN`` (veth on the host bridge, static, DHCP or
manual address through ``/etc/network/interfaces`` as PVE writes it), ``nameserver``/``searchdomain``.
Every simulated bridge (``vmbr0``, ``vmbr1`` …) lands on the one real host bridge (``lxcbr0``).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# PVE's default idmap for unprivileged containers (/etc/subuid root:100000:65536).
IDMAP_BASE = 100000
IDMAP_SIZE = 65536
_CGROUP_V1_MEMORY = Path("/sys/fs/cgroup/memory")
_NET_KEY_RE = re.compile(r"^net(\d+)$")
_IFNAME_RE = re.compile(r"^[a-zA-Z0-9_.-]{1,15}$")
_MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
_HOSTNAME_RE = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$")


class ContainerConfigError(ValueError):
    """A create parameter this backend cannot turn into a working container."""


@dataclass(frozen=True)
class NetSpec:
    """One ``netN`` property string (``name=eth0,bridge=vmbr0,ip=dhcp,gw=…,hwaddr=…``)."""

    index: int
    name: str
    bridge: str
    hwaddr: str
    ip: str | None = None  # "dhcp", "manual" or a CIDR
    gw: str | None = None
    ip6: str | None = None  # "dhcp", "auto", "manual" or a CIDR
    gw6: str | None = None
    mtu: int | None = None


@dataclass(frozen=True)
class ContainerSpec:
    """What the backend needs to build one container (parsed from PVE create parameters)."""

    vmid: int
    hostname: str
    memory_mib: int = 512
    swap_mib: int = 512
    cores: int | None = None
    cpulimit: float | None = None
    cpuunits: int | None = None
    unprivileged: bool = False
    nesting: bool = False
    nets: tuple[NetSpec, ...] = field(default_factory=tuple)
    nameserver: tuple[str, ...] = ()
    searchdomain: str | None = None


def parse_property_string(value: str, default_key: str | None = None) -> dict[str, str]:
    """``key=value,key=value`` (PVE property string); a bare first item belongs to ``default_key``."""
    result: dict[str, str] = {}
    for item in (part.strip() for part in str(value).split(",")):
        if not item:
            continue
        key, sep, val = item.partition("=")
        if not sep:
            if default_key is None or default_key in result:
                raise ContainerConfigError(f"invalid property string item {item!r}")
            key, val = default_key, item
        result[key.strip()] = val.strip()
    return result


def _flag(value: object) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def _int(params: Mapping[str, object], key: str, default: int | None) -> int | None:
    raw = params.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(str(raw))
    except ValueError as exc:
        raise ContainerConfigError(f"{key}: not an integer: {raw!r}") from exc


def default_hwaddr(vmid: int, index: int) -> str:
    """A stable, locally administered MAC (PVE uses the BC:24:11 OUI and a random tail)."""
    tail = (vmid * 16 + index) & 0xFFFFFF
    return f"BC:24:11:{tail >> 16:02X}:{(tail >> 8) & 0xFF:02X}:{tail & 0xFF:02X}"


def _parse_net(index: int, raw: str, vmid: int) -> NetSpec:
    props = parse_property_string(raw)
    name = props.get("name", f"eth{index}")
    if not _IFNAME_RE.match(name):
        raise ContainerConfigError(f"net{index}: invalid interface name {name!r}")
    hwaddr = props.get("hwaddr") or default_hwaddr(vmid, index)
    if not _MAC_RE.match(hwaddr):
        raise ContainerConfigError(f"net{index}: invalid hwaddr {hwaddr!r}")
    for key in ("ip", "ip6"):
        value = props.get(key)
        if value and value not in {"dhcp", "manual", "auto"}:
            try:
                ipaddress.ip_interface(value)
            except ValueError as exc:
                raise ContainerConfigError(f"net{index}: invalid {key} {value!r}") from exc
    mtu = props.get("mtu")
    return NetSpec(
        index=index,
        name=name,
        bridge=props.get("bridge", "vmbr0"),
        hwaddr=hwaddr,
        ip=props.get("ip"),
        gw=props.get("gw"),
        ip6=props.get("ip6"),
        gw6=props.get("gw6"),
        mtu=int(mtu) if mtu and mtu.isdigit() else None,
    )


def spec_from_pve_params(vmid: int, params: Mapping[str, object]) -> ContainerSpec:
    """Build a :class:`ContainerSpec` from the (already schema-validated) ``POST /nodes/{node}/lxc`` parameters."""
    hostname = str(params.get("hostname") or f"CT{vmid}")
    if not _HOSTNAME_RE.match(hostname):
        raise ContainerConfigError(f"hostname: invalid {hostname!r}")
    nets = []
    for key, raw in params.items():
        match = _NET_KEY_RE.match(key)
        if match and raw:
            nets.append(_parse_net(int(match.group(1)), str(raw), vmid))
    nets.sort(key=lambda net: net.index)
    features = parse_property_string(str(params.get("features") or ""))
    cpulimit = params.get("cpulimit")
    return ContainerSpec(
        vmid=vmid,
        hostname=hostname,
        memory_mib=_int(params, "memory", 512) or 512,
        swap_mib=_int(params, "swap", 512) or 0,
        cores=_int(params, "cores", None),
        cpulimit=float(str(cpulimit)) if cpulimit not in (None, "", "0", 0) else None,
        cpuunits=_int(params, "cpuunits", None),
        unprivileged=_flag(params.get("unprivileged", 0)),
        nesting=_flag(features.get("nesting", 0)),
        nets=tuple(nets),
        nameserver=tuple(str(params.get("nameserver") or "").split()),
        searchdomain=str(params["searchdomain"]) if params.get("searchdomain") else None,
    )


def cgroup_lines(spec: ContainerSpec, cgroup_v1: bool | None = None) -> list[str]:
    """Resource limits; on this host's cgroup v1 layout PVE's ``lxc.cgroup2.*`` keys would be silently ignored."""
    v1 = _CGROUP_V1_MEMORY.is_dir() if cgroup_v1 is None else cgroup_v1
    memory = spec.memory_mib * 1024 * 1024
    swap = spec.swap_mib * 1024 * 1024
    lines: list[str] = []
    cores = min(spec.cores, os.cpu_count() or 1) if spec.cores else None
    if v1:
        lines.append(f"lxc.cgroup.memory.limit_in_bytes = {memory}")
        if (_CGROUP_V1_MEMORY / "memory.memsw.limit_in_bytes").exists():
            lines.append(f"lxc.cgroup.memory.memsw.limit_in_bytes = {memory + swap}")
        if cores:
            lines.append(f"lxc.cgroup.cpuset.cpus = {'0' if cores == 1 else f'0-{cores - 1}'}")
        if spec.cpulimit:
            lines += [
                "lxc.cgroup.cpu.cfs_period_us = 100000",
                f"lxc.cgroup.cpu.cfs_quota_us = {int(spec.cpulimit * 100000)}",
            ]
        if spec.cpuunits:
            lines.append(f"lxc.cgroup.cpu.shares = {spec.cpuunits}")
    else:
        lines += [f"lxc.cgroup2.memory.max = {memory}", f"lxc.cgroup2.memory.swap.max = {swap}"]
        if cores:
            lines.append(f"lxc.cgroup2.cpuset.cpus = {'0' if cores == 1 else f'0-{cores - 1}'}")
        if spec.cpulimit:
            lines.append(f"lxc.cgroup2.cpu.max = {int(spec.cpulimit * 100000)} 100000")
        if spec.cpuunits:
            lines.append(f"lxc.cgroup2.cpu.weight = {spec.cpuunits}")
    return lines


def render_lxc_config(spec: ContainerSpec, *, rootfs: str, host_bridge: str, log_file: Path) -> str:
    """The container's ``config`` file under the private lxcpath."""
    lines = [
        "# written by the lxc-manager PVE simulator (lxc backend)",
        "lxc.include = /usr/share/lxc/config/common.conf",
        "lxc.arch = linux64",
        f"lxc.uts.name = {spec.hostname}",
        f"lxc.rootfs.path = {rootfs}",
        # systemd shuts down cleanly on SIGRTMIN+3; PVE's "stop" is a hard kill (lxc-stop -k) anyway.
        "lxc.signal.halt = SIGRTMIN+3",
        "lxc.tty.max = 2",
        f"lxc.log.file = {log_file}",
        "lxc.log.level = ERROR",
    ]
    if spec.unprivileged:
        lines += [
            "lxc.include = /usr/share/lxc/config/userns.conf",
            f"lxc.idmap = u 0 {IDMAP_BASE} {IDMAP_SIZE}",
            f"lxc.idmap = g 0 {IDMAP_BASE} {IDMAP_SIZE}",
        ]
    if spec.nesting:
        # The default cgroup:mixed breaks a nested lxc-start on cgroup v1 (see the test-infrastructure guide).
        lines += ["lxc.mount.auto =", "lxc.mount.auto = proc:rw sys:rw cgroup:rw:force"]
    lines += cgroup_lines(spec)
    for net in spec.nets:
        prefix = f"lxc.net.{net.index}"
        lines += [
            f"{prefix}.type = veth",
            f"{prefix}.link = {host_bridge}",
            f"{prefix}.flags = up",
            f"{prefix}.name = {net.name}",
            f"{prefix}.hwaddr = {net.hwaddr.lower()}",
        ]
        if net.mtu:
            lines.append(f"{prefix}.mtu = {net.mtu}")
    return "\n".join(lines) + "\n"


def render_interfaces(spec: ContainerSpec) -> str:
    """``/etc/network/interfaces`` the way PVE's Debian setup writes it (ifupdown brings it up at boot)."""
    out = ["auto lo", "iface lo inet loopback", ""]
    for net in spec.nets:
        if net.ip:
            out.append(f"auto {net.name}")
            if net.ip in {"dhcp", "manual"}:
                out.append(f"iface {net.name} inet {net.ip}")
            else:
                out += [f"iface {net.name} inet static", f"\taddress {net.ip}"]
                if net.gw:
                    out.append(f"\tgateway {net.gw}")
            out.append("")
        if net.ip6:
            if not net.ip:
                out.append(f"auto {net.name}")
            if net.ip6 in {"dhcp", "manual", "auto"}:
                out.append(f"iface {net.name} inet6 {net.ip6}")
            else:
                out += [f"iface {net.name} inet6 static", f"\taddress {net.ip6}"]
                if net.gw6:
                    out.append(f"\tgateway {net.gw6}")
            out.append("")
    return "\n".join(out)


def render_resolv_conf(spec: ContainerSpec, default_nameserver: str) -> str:
    lines = []
    if spec.searchdomain:
        lines.append(f"search {spec.searchdomain}")
    lines += [f"nameserver {server}" for server in spec.nameserver or (default_nameserver,)]
    return "\n".join(lines) + "\n"


def render_hosts(spec: ContainerSpec) -> str:
    short = spec.hostname.split(".", 1)[0]
    names = f"{spec.hostname} {short}" if short != spec.hostname else spec.hostname
    return f"127.0.0.1\tlocalhost\n127.0.1.1\t{names}\n\n::1\tlocalhost ip6-localhost ip6-loopback\n"


def write_guest_files(spec: ContainerSpec, root: Path, nameserver: str, ssh_keys: str | None) -> None:
    """What PVE writes into a Debian CT at create time (hostname, hosts, network, DNS, root's SSH keys)."""
    files = {
        "etc/hostname": spec.hostname + "\n",
        "etc/hosts": render_hosts(spec),
        "etc/network/interfaces": render_interfaces(spec),
        "etc/resolv.conf": render_resolv_conf(spec, nameserver),
    }
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            path.unlink()
        path.write_text(content)
        path.chmod(0o644)
    if ssh_keys:
        ssh_dir = root / "root/.ssh"
        ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        keys = ssh_dir / "authorized_keys"
        keys.write_text(ssh_keys.rstrip("\n") + "\n")
        keys.chmod(0o600)
