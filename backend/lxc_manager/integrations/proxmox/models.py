"""Typed views of PVE answers, tolerant of PVE's quirks.

Pydantic's lax mode does the coercions PVE needs: ``vmid`` as ``"100"`` or ``100``, ``nextid`` as a string, 0/1
booleans, ``pressure*`` as ``"0.00"``, ``memory`` as ``"2048"``. Fields missing on some PVE versions or states are
optional, and unknown keys are kept (``extra="allow"``) so nothing PVE adds is lost.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AplInfo",
    "ClusterResource",
    "ClusterStatusEntry",
    "LXCConfig",
    "LXCInterface",
    "LXCStatus",
    "NetworkInterface",
    "NodeListEntry",
    "NodeStatus",
    "PVEModel",
    "SnapshotEntry",
    "StorageContentEntry",
    "StorageEntry",
    "TaskLog",
    "TaskLogLine",
    "TaskResult",
    "TaskStatus",
    "VersionInfo",
]


class PVEModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=False)


class VersionInfo(PVEModel):
    version: str
    release: str
    repoid: str
    console: str | None = None


class ClusterResource(PVEModel):
    """One entry of ``/cluster/resources``; ``type`` is node/storage/lxc/qemu/sdn/network/pool/..."""

    id: str
    type: str
    node: str | None = None
    status: str | None = None
    name: str | None = None
    vmid: int | None = None
    template: bool | None = None
    lock: str | None = None
    tags: str | None = None
    pool: str | None = None
    hastate: str | None = None
    cpu: float | None = None
    maxcpu: float | None = None
    mem: int | None = None
    maxmem: int | None = None
    memhost: int | None = None
    disk: int | None = None
    maxdisk: int | None = None
    diskread: int | None = None
    diskwrite: int | None = None
    netin: int | None = None
    netout: int | None = None
    uptime: int | None = None
    level: str | None = None
    cgroup_mode: int | None = Field(default=None, alias="cgroup-mode")
    storage: str | None = None
    plugintype: str | None = None
    content: str | None = None
    shared: bool | None = None
    sdn: str | None = None
    network: str | None = None
    network_type: str | None = Field(default=None, alias="network-type")

    @property
    def content_types(self) -> set[str]:
        return {c for c in (self.content or "").split(",") if c}


class ClusterStatusEntry(PVEModel):
    id: str
    name: str
    type: Literal["cluster", "node"] | str
    ip: str | None = None
    level: str | None = None
    local: bool | None = None
    nodeid: int | None = None
    nodes: int | None = None
    online: bool | None = None
    quorate: bool | None = None
    version: int | None = None


class NodeListEntry(PVEModel):
    node: str
    status: str
    cpu: float | None = None
    maxcpu: int | None = None
    mem: int | None = None
    maxmem: int | None = None
    disk: int | None = None
    maxdisk: int | None = None
    uptime: int | None = None
    level: str | None = None
    ssl_fingerprint: str | None = None


class NodeMemory(PVEModel):
    total: int
    used: int
    free: int
    available: int | None = None


class NodeCPUInfo(PVEModel):
    model: str | None = None
    cores: int | None = None
    cpus: int | None = None
    sockets: int | None = None
    mhz: float | None = None


class NodeStatus(PVEModel):
    uptime: int | None = None
    cpu: float | None = None
    wait: float | None = None
    idle: float | None = None
    pveversion: str | None = None
    kversion: str | None = None
    loadavg: list[float] = Field(default_factory=list)
    memory: NodeMemory | None = None
    swap: NodeMemory | None = None
    rootfs: dict[str, int] | None = None
    cpuinfo: NodeCPUInfo | None = None
    current_kernel: dict[str, str] | None = Field(default=None, alias="current-kernel")
    boot_info: dict[str, Any] | None = Field(default=None, alias="boot-info")


class StorageEntry(PVEModel):
    storage: str
    type: str
    content: str = ""
    active: bool | None = None
    enabled: bool | None = None
    shared: bool | None = None
    total: int | None = None
    used: int | None = None
    avail: int | None = None
    used_fraction: float | None = None

    @property
    def content_types(self) -> set[str]:
        return {c for c in self.content.split(",") if c}


class StorageContentEntry(PVEModel):
    volid: str
    format: str
    size: int
    content: str | None = None
    ctime: int | None = None
    vmid: int | None = None
    notes: str | None = None
    protected: bool | None = None
    used: int | None = None
    parent: str | None = None


class AplInfo(PVEModel):
    """An appliance template from ``GET /nodes/{n}/aplinfo`` (the schema leaves its properties empty)."""

    template: str
    type: str | None = None
    package: str | None = None
    os: str | None = None
    version: str | None = None
    section: str | None = None
    headline: str | None = None
    description: str | None = None
    source: str | None = None
    location: str | None = None
    sha512sum: str | None = None
    md5sum: str | None = None
    architecture: str | None = None
    infopage: str | None = None
    maintainer: str | None = None
    manageurl: str | None = None


class NetworkInterface(PVEModel):
    iface: str
    type: str
    active: bool | None = None
    autostart: bool | None = None
    exists: bool | None = None
    address: str | None = None
    netmask: str | None = None
    cidr: str | None = None
    gateway: str | None = None
    bridge_ports: str | None = None
    bridge_vlan_aware: bool | None = None
    comments: str | None = None


class LXCStatus(PVEModel):
    """An entry of ``GET /nodes/{n}/lxc`` or ``.../status/current``. Stopped CTs lack pid and pressure fields."""

    vmid: int
    status: Literal["running", "stopped"] | str
    name: str | None = None
    type: str | None = None
    template: bool = False
    lock: str | None = None
    tags: str | None = None
    pid: int | None = None
    cpu: float | None = None
    cpus: float | None = None
    mem: int | None = None
    maxmem: int | None = None
    swap: int | None = None
    maxswap: int | None = None
    disk: int | None = None
    maxdisk: int | None = None
    diskread: int | None = None
    diskwrite: int | None = None
    netin: int | None = None
    netout: int | None = None
    uptime: int | None = None
    pressurecpusome: float | None = None
    pressurecpufull: float | None = None
    pressureiosome: float | None = None
    pressureiofull: float | None = None
    pressurememorysome: float | None = None
    pressurememoryfull: float | None = None
    ha: dict[str, Any] | None = None


class LXCConfig(PVEModel):
    """``GET .../lxc/{vmid}/config``. ``net0``/``mp0``/``unused0``... stay in the extra fields (see ``indexed``)."""

    digest: str | None = None
    hostname: str | None = None
    ostype: str | None = None
    arch: str | None = None
    memory: int | None = None
    swap: int | None = None
    cores: int | None = None
    cpulimit: float | None = None
    cpuunits: int | None = None
    rootfs: str | None = None
    features: str | None = None
    unprivileged: bool | None = None
    onboot: bool | None = None
    protection: bool | None = None
    template: bool | None = None
    lock: str | None = None
    tags: str | None = None
    description: str | None = None
    nameserver: str | None = None
    searchdomain: str | None = None
    timezone: str | None = None

    def indexed(self, prefix: str) -> dict[int, str]:
        """Indexed keys such as ``net0``, ``net1`` → ``{0: "...", 1: "..."}``."""
        found: dict[int, str] = {}
        for key, value in (self.model_extra or {}).items():
            suffix = key[len(prefix) :]
            if key.startswith(prefix) and suffix.isdigit():
                found[int(suffix)] = str(value)
        return dict(sorted(found.items()))


class LXCInterfaceAddress(PVEModel):
    ip_address: str | None = Field(default=None, alias="ip-address")
    ip_address_type: str | None = Field(default=None, alias="ip-address-type")
    prefix: int | None = None


class LXCInterface(PVEModel):
    name: str
    hwaddr: str | None = None
    hardware_address: str | None = Field(default=None, alias="hardware-address")
    inet: str | None = None
    inet6: str | None = None
    ip_addresses: list[LXCInterfaceAddress] = Field(default_factory=list, alias="ip-addresses")


class SnapshotEntry(PVEModel):
    name: str
    description: str | None = None
    parent: str | None = None
    snaptime: int | None = None
    running: bool | None = None
    digest: str | None = None


class TaskStatus(PVEModel):
    upid: str
    node: str
    status: Literal["running", "stopped"] | str
    type: str
    id: str = ""
    user: str
    tokenid: str | None = None
    pid: int | None = None
    pstart: int | None = None
    starttime: int | None = None
    exitstatus: str | None = None

    @property
    def running(self) -> bool:
        return self.status == "running"


class TaskLogLine(PVEModel):
    n: int
    t: str


class TaskLog(PVEModel):
    lines: list[TaskLogLine]
    total: int


class TaskResult(PVEModel):
    """Outcome of a successful task: ``OK`` (warnings=0) or ``WARNINGS: n``."""

    upid: str
    ok: bool
    exitstatus: str
    warnings: int = 0
    log_tail: list[str] = Field(default_factory=list)
