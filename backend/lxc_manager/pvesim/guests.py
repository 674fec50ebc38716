"""Shared guest helpers: property strings as PVE prints them, disk allocation, status payloads and metrics."""

from __future__ import annotations

import math
import re
import time
from typing import Any

from lxc_manager.pvesim.acl import ApiToken
from lxc_manager.pvesim.core import PveError, Simulator, param_error
from lxc_manager.pvesim.schema import NOT_DEFINED, MethodInfo, PropertyStringError, parse_property_string
from lxc_manager.pvesim.state import GIB, Guest, Node, Volume, format_size, parse_size

NEW_DISK_RE = re.compile(r"^([^:\s]+):(\d+(\.\d+)?)$")
DISK_KEY_RE = re.compile(r"^(rootfs|mp\d+)$")
NET_KEY_RE = re.compile(r"^net\d+$")
# Parameters of create/PUT that are not stored in the config file.
NOT_STORED = {
    "vmid", "node", "ostemplate", "storage", "password", "ssh-public-keys", "start", "pool", "force", "unique",
    "restore", "ignore-unpack-errors", "bwlimit", "ha-managed", "digest", "delete", "revert",
}  # fmt: skip
CPU_KEYS = {"cores", "cpulimit", "cpuunits"}
MEMORY_KEYS = {"memory", "swap"}


def print_property_string(values: dict[str, Any], first: str | None = None) -> str:
    """``first`` (the default key printed bare, or ``name=…``) then the remaining keys alphabetically."""
    parts = []
    if first is not None and first in values:
        parts.append(str(values[first]) if first in {"volume"} else f"{first}={values[first]}")
    for key in sorted(values):
        if key != first:
            parts.append(f"{key}={values[key]}")
    return ",".join(parts)


def parse_prop(info: MethodInfo, key: str, value: str) -> dict[str, Any]:
    schema = info.property(key)
    if schema is None or not isinstance(schema.get("format"), dict):
        raise param_error({key: NOT_DEFINED})
    try:
        return parse_property_string(schema["format"], value, key)
    except PropertyStringError as exc:
        raise param_error({key: f"invalid format - {exc.render()}"}) from None


def check_modify_perm(sim: Simulator, token: ApiToken, vmid: int, params: dict[str, Any], info: MethodInfo) -> None:
    """pve-container ``check_ct_modify_config_perm``: VM.Config.* per key, storage space for new disks, SDN.Use."""
    vm_path = f"/vms/{vmid}"
    keys = [k for k in params if k not in NOT_STORED and k != "unprivileged"]
    keys += [k for k in str(params.get("delete", "")).replace(";", ",").split(",") if k]
    for key in keys:
        if DISK_KEY_RE.match(key):
            sim.acl.check(token, vm_path, ["VM.Config.Disk"])
            if key in params:
                volume = str(parse_prop(info, key, str(params[key])).get("volume", ""))
                disk = NEW_DISK_RE.match(volume)
                if disk:
                    sim.acl.check(token, f"/storage/{disk.group(1)}", ["Datastore.AllocateSpace"])
        elif NET_KEY_RE.match(key):
            sim.acl.check(token, vm_path, ["VM.Config.Network"])
            if key in params:
                bridge = parse_prop(info, key, str(params[key])).get("bridge")
                if bridge:
                    sim.acl.check(token, f"/sdn/zones/localnetwork/{bridge}", ["SDN.Use"])
        elif key in MEMORY_KEYS:
            sim.acl.check(token, vm_path, ["VM.Config.Memory"])
        elif key in CPU_KEYS:
            sim.acl.check(token, vm_path, ["VM.Config.CPU"])
        else:
            sim.acl.check(token, vm_path, ["VM.Config.Options"])


def storage_for(node: Node, storage_id: str, content: str) -> Any:
    storage = node.storages.get(storage_id)
    if storage is None:
        raise PveError(500, f"storage '{storage_id}' does not exist")
    if content not in storage.content:
        # pve-container create_vm: raise_param_exc({storage => ...}), so a 400
        what = {"rootdir": "container directories", "images": "VM images", "vztmpl": "templates"}.get(content, content)
        raise param_error({"storage": f"storage '{storage_id}' does not support {what}"})
    return storage


def plan_disk(node: Node, volume: str, default_storage: str) -> tuple[str, int] | None:
    """``local-lvm:8`` (or a bare ``8``) → (storage, bytes) to allocate; None for an existing volume."""
    if re.fullmatch(r"\d+(\.\d+)?", volume):
        volume = f"{default_storage}:{volume}"
    disk = NEW_DISK_RE.match(volume)
    if not disk:
        return None
    storage_for(node, disk.group(1), "rootdir")
    return disk.group(1), int(float(disk.group(2)) * GIB)


def allocate(node: Node, storage_id: str, vmid: int, size: int) -> str:
    storage = node.storages[storage_id]
    if size > storage.avail:
        raise PveError(
            500, f"lvcreate 'pve/vm-{vmid}-disk-0' error:   Volume group \"pve\" has insufficient free space"
        )
    index = 0
    while f"vm-{vmid}-disk-{index}" in storage.volumes or f"base-{vmid}-disk-{index}" in storage.volumes:
        index += 1
    name = f"vm-{vmid}-disk-{index}"
    fmt = "raw" if storage.type == "lvmthin" else "subvol"
    storage.volumes[name] = Volume(name, size, "rootdir", fmt, vmid)
    return f"{storage_id}:{name}"


def free_volumes(sim: Simulator, guest: Guest) -> None:
    node = sim.cluster.nodes[guest.node]
    for storage in node.storages.values():
        for name in [n for n, v in storage.volumes.items() if v.vmid == guest.vmid and v.content != "vztmpl"]:
            del storage.volumes[name]


def disk_size(guest: Guest) -> int:
    total = 0
    for key, value in guest.config.items():
        if DISK_KEY_RE.match(key):
            size = re.search(r"(?:^|,)size=([^,]+)", str(value))
            if size:
                total += parse_size(size.group(1))
    return total


def size_text(size: int) -> str:
    return format_size(size)


def _wave(seed: int, now: float, period: float) -> float:
    return 0.5 + 0.5 * math.sin(now / period + seed)


def guest_status(sim: Simulator, guest: Guest, offline: bool = False) -> dict[str, Any]:
    """The ``vmstatus`` payload (list, status/current and cluster/resources share it)."""
    cfg = guest.config
    maxmem = int(cfg.get("memory", 512)) * 1024**2
    maxswap = int(cfg.get("swap", 512)) * 1024**2
    maxdisk = disk_size(guest)
    running = guest.status == "running" and not offline
    now = time.time()
    data: dict[str, Any] = {
        "vmid": guest.vmid, "name": cfg.get("hostname", f"CT{guest.vmid}"), "type": guest.kind,
        "status": "unknown" if offline else guest.status, "cpus": int(cfg.get("cores", 1)), "maxmem": maxmem,
        "maxswap": maxswap, "maxdisk": maxdisk, "uptime": guest.uptime if running else 0, "cpu": 0, "mem": 0,
        "swap": 0, "disk": 0, "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0,
    }  # fmt: skip
    if running:
        uptime = max(guest.uptime, 1)
        data.update(
            cpu=round(0.002 + 0.05 * _wave(guest.vmid, now, 45), 6),
            mem=int(maxmem * (0.05 + 0.15 * _wave(guest.vmid * 7, now, 90))),
            disk=int(maxdisk * 0.12) if maxdisk else 0,
            netin=1200 * uptime, netout=300 * uptime,  # counters of the veth, which lives as long as the CT runs
            diskread=540_000_000 + 4096 * uptime, diskwrite=6_000_000 + 2048 * uptime,
            pid=guest.pid,
        )  # fmt: skip
        for key in ("cpu", "io", "memory"):
            data[f"pressure{key}some"] = "0.00"
            data[f"pressure{key}full"] = "0.00"
    if cfg.get("template"):
        data["template"] = 1
    lock = sim.lock_of(guest)
    if lock:
        data["lock"] = lock
    if cfg.get("tags"):
        data["tags"] = cfg["tags"]
    return data
