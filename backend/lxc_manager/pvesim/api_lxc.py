"""LXC lifecycle endpoints: list, create, config get/put, delete, clone, template, pending."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from lxc_manager.pvesim.acl import PermissionDenied
from lxc_manager.pvesim.core import Call, PveError, handles, param_error
from lxc_manager.pvesim.guests import (
    DISK_KEY_RE,
    NET_KEY_RE,
    NOT_STORED,
    allocate,
    check_modify_perm,
    free_volumes,
    guest_status,
    parse_prop,
    plan_disk,
    print_property_string,
    size_text,
)  # fmt: skip
from lxc_manager.pvesim.state import Guest, parse_size
from lxc_manager.pvesim.tasks import TaskContext, TaskError

LXC = "/nodes/{node}/lxc"
CT = "/nodes/{node}/lxc/{vmid}"
_OSTYPES = ("debian", "ubuntu", "alpine", "centos", "fedora", "archlinux", "devuan", "opensuse", "gentoo")


def _stored(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def _net_value(call: Call, key: str, value: str, previous: str | None = None) -> str:
    net = parse_prop(call.info, key, value)
    if "hwaddr" not in net:
        old = re.search(r"hwaddr=([^,]+)", previous or "")
        net["hwaddr"] = old.group(1) if old else call.sim.cluster.mac()
    net["type"] = "veth"
    return print_property_string(net, first="name")


@handles("GET", LXC)
async def list_cts(call: Call) -> Any:
    node = call.node()
    return [
        guest_status(call.sim, g)
        for g in sorted(call.sim.cluster.guests.values(), key=lambda g: g.vmid)
        if g.node == node.name and g.kind == "lxc" and call.sim.acl.has(call.token, f"/vms/{g.vmid}", ["VM.Audit"])
    ]


@handles("POST", LXC)
async def create_ct(call: Call) -> Any:
    """The checks of pve-container ``API2/LXC.pm`` ``create_vm``, in its order."""
    sim, node, params = call.sim, call.node(), call.params
    vmid = int(params["vmid"])
    if params.get("unprivileged") is False:
        sim.acl.check(call.token, "/", ["Sys.Modify"])
    existing = sim.cluster.guests.get(vmid)
    if existing is not None:
        label = "CT" if existing.kind == "lxc" else "VM"
        raise PveError(500, f"{label} {vmid} already exists on node '{existing.node}'")
    if not sim.acl.has(call.token, f"/vms/{vmid}", ["VM.Allocate"]):
        raise PermissionDenied(None)
    check_modify_perm(sim, call.token, vmid, call.raw, call.info)
    ostemplate = str(params["ostemplate"])
    tmpl_storage, _, volname = ostemplate.partition(":")
    if not volname or not re.fullmatch(r"[a-z][a-z0-9\-_.]*[a-z0-9]", tmpl_storage, re.IGNORECASE):
        raise PveError(500, f"unable to parse volume ID '{ostemplate}'")
    if tmpl_storage not in node.storages:
        raise PveError(500, f"storage '{tmpl_storage}' does not exist")
    sim.acl.check(call.token, f"/storage/{tmpl_storage}", ["Datastore.AllocateSpace", "Datastore.Audit"], any_=True)
    default_storage = str(params.get("storage", "local"))
    raw = dict(call.raw)
    if any(re.fullmatch(r"mp\d+", k) for k in raw) and "rootfs" not in raw:
        raise PveError(500, "mount points configured, but 'rootfs' not set - aborting")
    raw.setdefault("rootfs", f"{default_storage}:4")
    disks: dict[str, tuple[dict[str, Any], tuple[str, int] | None]] = {}
    for key in [k for k in raw if DISK_KEY_RE.match(k)]:
        parsed = parse_prop(call.info, key, str(raw[key]))
        plan = plan_disk(node, str(parsed.get("volume", "")), default_storage)
        if str(parsed.get("volume", "")).startswith("/") and call.token.full_id != "root@pam":
            raise PveError(500, "Only root can pass arbitrary filesystem paths.")
        if plan is not None:
            sim.acl.check(call.token, f"/storage/{plan[0]}", ["Datastore.AllocateSpace"])
        disks[key] = (parsed, plan)
    config: dict[str, Any] = {"arch": "amd64", "memory": 512, "swap": 512, "hostname": f"CT{vmid}", "unprivileged": 1}
    distro = volname.split("/")[-1].split("-")[0]
    config["ostype"] = distro if distro in _OSTYPES else "unmanaged"
    for key, value in params.items():
        # create ignores unused[n] ("cannot create/restore with unused volume")
        if key not in NOT_STORED and not DISK_KEY_RE.match(key) and not re.fullmatch(r"unused\d+", key):
            config[key] = _net_value(call, key, str(value)) if NET_KEY_RE.match(key) else _stored(value)
    config["lock"] = "create"
    guest = Guest(vmid, node.name, "lxc", config)
    sim.cluster.guests[vmid] = guest
    ssh_keys = params.get("ssh-public-keys")
    start_after = bool(params.get("start"))

    async def work(ctx: TaskContext) -> None:
        try:
            for key, (parsed, plan) in sorted(disks.items()):
                if plan is not None:
                    storage_id, size = plan
                    try:
                        parsed["volume"] = allocate(node, storage_id, vmid, size)
                    except PveError as exc:
                        raise TaskError(f"unable to create CT {vmid} - {exc.message}") from None
                    parsed["size"] = size_text(size)
                    ctx.log(f'  Logical volume "{parsed["volume"].split(":")[1]}" created.')
                guest.config[key] = print_property_string(parsed, first="volume")
            if volname not in node.storages[tmpl_storage].volumes:
                raise TaskError(f"unable to create CT {vmid} - volume '{ostemplate}' does not exist")
            ctx.log(f"extracting archive '/var/lib/vz/template/cache/{volname.split('/')[-1]}'")
            created = {k: v for k, v in guest.config.items() if k != "lock"}
            keys = str(ssh_keys) if ssh_keys else None
            await sim.backend.create(vmid, ostemplate, str(config["hostname"]), keys, params=created)
            ctx.log("Total bytes read: 527360000 (503MiB, 231MiB/s)")
            ctx.log(f"Detected container architecture: {config['arch']}")
            guest.config.pop("lock", None)
        except BaseException:
            # PVE destroys a container whose creation failed.
            free_volumes(sim, guest)
            sim.cluster.guests.pop(vmid, None)
            await asyncio.shield(sim.backend.destroy(vmid))
            raise
        if start_after:
            from lxc_manager.pvesim.api_power import boot

            await boot(sim, guest, ctx)

    return sim.start_task(node.name, "vzcreate", str(vmid), call.owner, work)


@handles("GET", CT)
async def ct_index(call: Call) -> Any:
    call.guest()
    subdirs = ["config", "pending", "status", "vncproxy", "termproxy", "vncwebsocket", "spiceproxy", "migrate",
               "clone", "rrd", "rrddata", "firewall", "snapshot", "resize", "interfaces"]  # fmt: skip
    return [{"subdir": name} for name in subdirs]


@handles("GET", CT + "/config")
async def get_config(call: Call) -> Any:
    guest = call.guest()
    snapname = call.params.get("snapshot")
    if snapname:
        snap = guest.snapshots.get(str(snapname))
        if snap is None:
            raise PveError(500, f"snapshot '{snapname}' does not exist")
        return {**snap.config, "digest": guest.digest()}
    data = dict(guest.config)
    data["digest"] = guest.digest()
    return data


@handles("PUT", CT + "/config")
async def put_config(call: Call) -> Any:
    sim, guest, params = call.sim, call.guest(), call.params
    check_modify_perm(sim, call.token, guest.vmid, call.raw, call.info)
    sim.check_lock(guest)
    digest = params.get("digest")
    if digest and digest != guest.digest():
        raise PveError(500, "detected modified configuration - file changed by other user? Try again.")
    deletes = [k for k in re.split(r"[,;\s]+", str(params.get("delete", ""))) if k]
    # update_pct_config dies (HTTP 500) on these.
    if "unprivileged" in params:
        raise PveError(500, "unable to modify read-only option: 'unprivileged'")
    if "rootfs" in deletes:
        raise PveError(500, "unable to delete required option 'rootfs'")
    for key in [k for k in params if DISK_KEY_RE.match(k)]:
        volume = str(parse_prop(call.info, key, str(params[key])).get("volume"))
        if volume not in str(guest.config.get(key, "")):
            raise param_error({key: "changing the volume of a mount point is not supported by the simulator"})
    for key in deletes:
        guest.config.pop(key, None)
    for key, value in params.items():
        if key in NOT_STORED:
            continue
        if NET_KEY_RE.match(key):
            guest.config[key] = _net_value(call, key, str(value), guest.config.get(key))
        else:
            guest.config[key] = _stored(value)
    return None


@handles("DELETE", CT)
async def delete_ct(call: Call) -> Any:
    sim, guest = call.sim, call.guest()
    force = bool(call.params.get("force"))

    def early_checks(sync: bool) -> None:
        if guest.config.get("protection"):
            message = f"can't remove CT {guest.vmid} - protection mode enabled"
            if sync:
                raise PveError(500, message)
            raise TaskError(message)
        sim.check_lock(guest, sync=sync)

    early_checks(sync=True)
    if guest.status == "running" and not force:
        raise PveError(500, f"unable to destroy CT {guest.vmid} - container is running")

    async def work(ctx: TaskContext) -> None:
        early_checks(sync=False)
        if guest.status == "running":
            if not force:
                raise TaskError(f"unable to destroy CT {guest.vmid} - container is running")
            from lxc_manager.pvesim.api_power import halt

            ctx.warn(f"forced to stop CT {guest.vmid} before destroying!")
            await halt(sim, guest, ctx)
        free_volumes(sim, guest)
        for key in [k for k in guest.config if DISK_KEY_RE.match(k)]:
            ctx.log(f'  Logical volume "{str(guest.config[key]).split(",")[0].split(":")[-1]}" successfully removed.')
        sim.cluster.guests.pop(guest.vmid, None)
        sim.cluster.release(guest.vmid)
        await sim.backend.destroy(guest.vmid)
        if call.params.get("purge"):
            ctx.log(f"purging CT {guest.vmid} from related configurations..")

    return sim.start_task(guest.node, "vzdestroy", str(guest.vmid), call.owner, work)


@handles("GET", CT + "/pending")
async def pending(call: Call) -> Any:
    guest = call.guest()
    return [{"key": k, "value": v} for k, v in sorted(guest.config.items()) if k != "lock"]


@handles("POST", CT + "/template")
async def make_template(call: Call) -> Any:
    sim, guest = call.sim, call.guest()
    sim.check_lock(guest)
    if guest.status == "running":
        raise PveError(500, "you can't convert a CT to template if the CT is running")
    if guest.config.get("template"):
        raise PveError(500, "you can't convert a template to a template")

    async def work(ctx: TaskContext) -> None:
        node = sim.cluster.nodes[guest.node]
        for key in [k for k in guest.config if DISK_KEY_RE.match(k)]:
            volume, _, rest = str(guest.config[key]).partition(",")
            storage_id, _, name = volume.partition(":")
            base = name.replace("vm-", "base-", 1)
            store = node.storages.get(storage_id)
            if store is not None and name in store.volumes:
                store.volumes[base] = store.volumes.pop(name)
                store.volumes[base].volname = base
            guest.config[key] = f"{storage_id}:{base}" + (f",{rest}" if rest else "")
        guest.config["template"] = 1
        guest.config.pop("lock", None)

    guest.config["lock"] = "disk"
    sim.start_task(guest.node, "vztemplate", str(guest.vmid), call.owner, work)
    return None  # PVE returns null here although it forks a vztemplate worker


@handles("POST", CT + "/clone")
async def clone_ct(call: Call) -> Any:
    sim, guest, params = call.sim, call.guest(), call.params
    newid = int(params["newid"])
    sim.acl.check(call.token, f"/vms/{guest.vmid}", ["VM.Clone"])
    sim.acl.check(call.token, f"/vms/{newid}", ["VM.Allocate"])
    if newid in sim.cluster.guests:
        raise PveError(500, f"CT {newid} already exists on node '{sim.cluster.guests[newid].node}'")
    if guest.status == "running" and not guest.config.get("template") and not params.get("snapname"):
        raise PveError(500, "unable to clone a running container without a snapshot")
    sim.check_lock(guest)
    node = sim.cluster.nodes[guest.node]
    config = {k: v for k, v in guest.config.items() if not DISK_KEY_RE.match(k) and k != "template"}
    config["hostname"] = params.get("hostname", f"{guest.config.get('hostname', 'CT')}-clone")
    for key in [k for k in config if NET_KEY_RE.match(k)]:
        config[key] = re.sub(r"hwaddr=[^,]+", f"hwaddr={sim.cluster.mac()}", str(config[key]))
    config["lock"] = "create"
    clone = Guest(newid, node.name, "lxc", config)
    sim.cluster.guests[newid] = clone
    guest.config["lock"] = "disk"

    async def work(ctx: TaskContext) -> None:
        try:
            for key in [k for k in guest.config if DISK_KEY_RE.match(k)]:
                size_match = re.search(r"size=([^,]+)", str(guest.config[key]))
                size = parse_size(size_match.group(1)) if size_match else 0
                storage_id = str(params.get("storage") or str(guest.config[key]).split(":")[0])
                volume = allocate(node, storage_id, newid, size)
                clone.config[key] = f"{volume},size={size_text(size)}"
                ctx.log(f"create full clone of mountpoint {key} ({guest.config[key].split(',')[0]})")
            await sim.backend.clone(guest.vmid, newid)
            clone.config.pop("lock", None)
        except BaseException:
            free_volumes(sim, clone)
            sim.cluster.guests.pop(newid, None)
            raise
        finally:
            guest.config.pop("lock", None)

    return sim.start_task(node.name, "vzclone", str(guest.vmid), call.owner, work)


def snapshot_config(guest: Guest) -> dict[str, Any]:
    return {k: v for k, v in guest.config.items() if k != "lock"} | {"snaptime": int(time.time())}
