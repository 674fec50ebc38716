"""The simulated cluster: nodes, storages, bridges, guests (cluster-wide VMIDs), templates and DHCP leases."""

from __future__ import annotations

import hashlib
import ipaddress
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

GIB = 1024**3
VMID_MIN, VMID_MAX = 100, 1_000_000

# (volname, size) of the templates every node's `local` storage starts with; aplinfo offers more.
INITIAL_TEMPLATES = [
    ("vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", 126_483_477),
    ("vztmpl/debian-13-standard_13.1-2_amd64.tar.zst", 131_908_210),
    ("vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst", 141_877_408),
]
APPLIANCES = [
    ("debian-12-standard_12.7-1_amd64.tar.zst", "debian-12", "Debian 12 (standard)", "12.7-1"),
    ("debian-13-standard_13.1-2_amd64.tar.zst", "debian-13", "Debian 13 (standard)", "13.1-2"),
    ("ubuntu-24.04-standard_24.04-2_amd64.tar.zst", "ubuntu-24.04", "Ubuntu 24.04 (standard)", "24.04-2"),
    ("alpine-3.22-default_20250617_amd64.tar.xz", "alpine-3.22", "Alpine Linux 3.22 (default)", "20250617"),
    ("rockylinux-9-default_20240912_amd64.tar.xz", "rockylinux-9", "Rocky Linux 9 (default)", "20240912"),
]
BRIDGES = {"vmbr0": "10.10.0.0/24", "vmbr1": "10.20.0.0/24"}


@dataclass
class Volume:
    volname: str
    size: int
    content: str
    fmt: str
    vmid: int | None = None
    ctime: int = field(default_factory=lambda: int(time.time()))


@dataclass
class Storage:
    id: str
    type: str
    content: list[str]
    total: int
    base_used: int
    volumes: dict[str, Volume] = field(default_factory=dict)
    shared: int = 0

    @property
    def used(self) -> int:
        return self.base_used + sum(v.size for v in self.volumes.values())

    @property
    def avail(self) -> int:
        return max(self.total - self.used, 0)

    def status(self) -> dict[str, Any]:
        return {
            "storage": self.id, "type": self.type, "content": ",".join(self.content), "active": 1, "enabled": 1,
            "shared": self.shared, "total": self.total, "used": self.used, "avail": self.avail,
            "used_fraction": round(self.used / self.total, 6),
        }  # fmt: skip


@dataclass
class Bridge:
    name: str
    network: ipaddress.IPv4Network

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        return self.network.network_address + 1


@dataclass
class Node:
    name: str
    index: int
    storages: dict[str, Storage]
    bridges: dict[str, Bridge]
    boot_time: float = field(default_factory=lambda: time.time() - 86400 * 3)

    @property
    def ip(self) -> str:
        return f"192.168.100.{10 + self.index}"


@dataclass
class Snapshot:
    name: str
    config: dict[str, Any]
    snaptime: int
    description: str
    parent: str | None
    running: bool


@dataclass
class Guest:
    """An LXC container (or a minimal QEMU VM, which only takes its VMID and can be started)."""

    vmid: int
    node: str
    kind: str  # "lxc" or "qemu"
    config: dict[str, Any]
    status: str = "stopped"
    started_at: float | None = None
    pid: int | None = None
    frozen: bool = False
    snapshots: dict[str, Snapshot] = field(default_factory=dict)
    parent: str | None = None

    @property
    def lock(self) -> str | None:
        value = self.config.get("lock")
        return str(value) if value else None

    @property
    def conf_path(self) -> str:
        folder = "lxc" if self.kind == "lxc" else "qemu-server"
        return f"nodes/{self.node}/{folder}/{self.vmid}.conf"

    def digest(self) -> str:
        text = "".join(f"{k}: {self.config[k]}\n" for k in sorted(self.config))
        return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()

    @property
    def uptime(self) -> int:
        return int(time.time() - self.started_at) if self.status == "running" and self.started_at else 0


def parse_size(text: str) -> int:
    """``8G``/``512M``/bare GiB number → bytes (PVE ``parse_size`` with the LXC GiB default)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT])?", text)
    if not match:
        raise ValueError(text)
    unit = {"K": 1024, "M": 1024**2, "G": GIB, "T": 1024**4, None: GIB}[match.group(2)]
    return int(float(match.group(1)) * unit)


def format_size(size: int) -> str:
    for unit, factor in (("T", 1024**4), ("G", GIB), ("M", 1024**2), ("K", 1024)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


class Cluster:
    """All simulated state. Mutated only from the event loop, so no locking is needed."""

    def __init__(self, node_count: int, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)  # noqa: S311 - deterministic MACs, not crypto
        self.name = "pvesim"
        self.nodes: dict[str, Node] = {}
        for index in range(1, node_count + 1):
            name = f"pve{index}"
            self.nodes[name] = Node(name, index, self._storages(), self._bridges())
        self.guests: dict[int, Guest] = {}
        self.leases: dict[tuple[str, str], ipaddress.IPv4Address] = {}

    @staticmethod
    def _storages() -> dict[str, Storage]:
        local = Storage("local", "dir", ["backup", "iso", "vztmpl"], 100 * GIB, 12 * GIB)
        for volname, size in INITIAL_TEMPLATES:
            local.volumes[volname] = Volume(volname, size, "vztmpl", "tzst")
        thin = Storage("local-lvm", "lvmthin", ["images", "rootdir"], 400 * GIB, 2 * GIB)
        return {"local": local, "local-lvm": thin}

    @staticmethod
    def _bridges() -> dict[str, Bridge]:
        return {name: Bridge(name, ipaddress.IPv4Network(cidr)) for name, cidr in BRIDGES.items()}

    def node(self, name: str) -> Node | None:
        return self.nodes.get(name)

    def nextid(self) -> int | None:
        for vmid in range(VMID_MIN, VMID_MAX):
            if vmid not in self.guests:
                return vmid
        return None

    def mac(self) -> str:
        # Proxmox's OUI BC:24:11 with random lower bytes (deterministic per seed).
        return "BC:24:11:" + ":".join(f"{self.rng.randrange(256):02X}" for _ in range(3))

    def lease(self, vmid: int, iface: str, bridge: Bridge) -> ipaddress.IPv4Address:
        """A stable DHCP lease per (vmid, iface) from the bridge's subnet, starting at .100."""
        key = (f"{vmid}", iface)
        if key in self.leases and self.leases[key] in bridge.network:
            return self.leases[key]
        taken = set(self.leases.values())
        for offset in range(100, bridge.network.num_addresses - 1):
            candidate = bridge.network.network_address + offset
            if candidate not in taken:
                self.leases[key] = candidate
                return candidate
        raise RuntimeError(f"no free address on {bridge.name}")

    def release(self, vmid: int) -> None:
        for key in [k for k in self.leases if k[0] == str(vmid)]:
            del self.leases[key]
