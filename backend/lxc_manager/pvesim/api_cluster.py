"""Cluster-level endpoints: version, permissions, cluster resources/status/nextid/tasks, nodes, network, tasks."""

from __future__ import annotations

import asyncio
import re
import time
import urllib.parse
from typing import Any

from lxc_manager.pvesim.acl import session
from lxc_manager.pvesim.core import PVE_VERSION, Call, PveError, handles, param_error
from lxc_manager.pvesim.guests import guest_status
from lxc_manager.pvesim.state import GIB, Node
from lxc_manager.pvesim.tasks import Task

NODE_MAXMEM = 64 * GIB
NODE_CPUS = 16


@handles("GET", "/version")
async def version(call: Call) -> Any:
    return dict(PVE_VERSION)


@handles("POST", "/access/ticket")
async def create_ticket(call: Call) -> Any:
    username = str(call.params["username"])
    realm = call.params.get("realm")
    if realm and "@" not in username:
        username = f"{username}@{realm}"
    issued = call.sim.acl.login(username, str(call.params["password"]))
    if issued is None:
        await asyncio.sleep(call.sim.config.auth_delay)
        raise PveError(401, "authentication failure")
    ticket, csrf = issued
    user = session(username)
    cap = {
        area: dict.fromkeys(sorted(call.sim.acl.privileges(user, path)), 1)
        for area, path in (("vms", "/vms"), ("storage", "/storage"), ("access", "/access"), ("nodes", "/nodes"),
                           ("dc", "/"), ("sdn", "/sdn"), ("mapping", "/mapping"))
    }  # fmt: skip
    return {"username": username, "ticket": ticket, "CSRFPreventionToken": csrf, "cap": cap,
            "clustername": call.sim.cluster.name}  # fmt: skip


@handles("GET", "/access/permissions")
async def permissions(call: Call) -> Any:
    userid = call.params.get("userid")
    if userid and userid not in {call.token.full_id, call.token.userid}:
        call.sim.acl.check(call.token, "/access", ["Sys.Audit"])
    return call.sim.acl.dump(call.token, call.params.get("path"))


def _online(call: Call, node: Node) -> bool:
    return call.sim.faults.node_offline(node.name) is None


def _node_entry(call: Call, node: Node) -> dict[str, Any]:
    online = _online(call, node)
    root_total = 100 * GIB
    entry: dict[str, Any] = {"node": node.name, "id": f"node/{node.name}", "type": "node",
                             "status": "online" if online else "offline", "level": ""}  # fmt: skip
    if online:
        guests = [g for g in call.sim.cluster.guests.values() if g.node == node.name and g.status == "running"]
        entry.update(
            cpu=round(0.01 + 0.01 * len(guests), 6), maxcpu=NODE_CPUS, mem=3 * GIB + 256 * 1024**2 * len(guests),
            maxmem=NODE_MAXMEM, disk=node.storages["local"].used, maxdisk=root_total,
            uptime=int(time.time() - node.boot_time), **{"cgroup-mode": 2},
        )  # fmt: skip
    return entry


@handles("GET", "/nodes")
async def list_nodes(call: Call) -> Any:
    result = []
    for node in call.sim.cluster.nodes.values():
        entry = _node_entry(call, node)
        entry["ssl_fingerprint"] = call.extra.get("fingerprint", "")
        result.append(entry)
    return result


@handles("GET", "/nodes/{node}")
async def node_index(call: Call) -> Any:
    call.node()
    return [{"name": n} for n in ("status", "lxc", "qemu", "storage", "network", "tasks", "aplinfo", "rrddata")]


@handles("GET", "/nodes/{node}/status")
async def node_status(call: Call) -> Any:
    node = call.node()
    entry = _node_entry(call, node)
    mem_used = int(entry["mem"])
    local = node.storages["local"]
    return {
        "uptime": entry["uptime"], "cpu": entry["cpu"], "wait": 0, "idle": 0,
        "loadavg": ["0.04", "0.06", "0.01"], "pveversion": f"pve-manager/{PVE_VERSION['version']}/5e4cc71ff9ab9a8e",
        "kversion": "Linux 6.17.2-1-pve #1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z)",
        "current-kernel": {"sysname": "Linux", "release": "6.17.2-1-pve", "machine": "x86_64",
                           "version": "#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z)"},
        "memory": {"total": NODE_MAXMEM, "used": mem_used, "free": NODE_MAXMEM - mem_used,
                   "available": NODE_MAXMEM - mem_used},
        "swap": {"total": 8 * GIB, "used": 0, "free": 8 * GIB},
        "rootfs": {"total": local.total, "used": local.used, "avail": local.avail, "free": local.avail},
        "cpuinfo": {"cpus": NODE_CPUS, "cores": NODE_CPUS // 2, "sockets": 1, "model": "Simulated CPU @ 3.00GHz",
                    "mhz": "3000.000", "hvm": "1", "user_hz": 100,
                    "vendor": "GenuineIntel", "family": "6", "flags": "fpu vme de pse tsc msr pae"},
        "ksm": {"shared": 0}, "boot-info": {"mode": "efi", "secureboot": 0},
    }  # fmt: skip


@handles("GET", "/cluster/status")
async def cluster_status(call: Call) -> Any:
    nodes = list(call.sim.cluster.nodes.values())
    result: list[dict[str, Any]] = [{"type": "cluster", "id": "cluster", "name": call.sim.cluster.name,
                                     "nodes": len(nodes), "quorate": 1, "version": len(nodes) + 1}]  # fmt: skip
    for node in nodes:
        result.append({"type": "node", "id": f"node/{node.name}", "name": node.name, "nodeid": node.index,
                       "ip": node.ip, "local": int(node.index == 1), "online": int(_online(call, node)),
                       "level": ""})  # fmt: skip
    return result


@handles("GET", "/cluster/resources")
async def cluster_resources(call: Call) -> Any:
    sim, kind = call.sim, call.params.get("type")
    acl, token = sim.acl, call.token
    result: list[dict[str, Any]] = []
    if kind in (None, "vm"):
        for guest in sorted(sim.cluster.guests.values(), key=lambda g: g.vmid):
            if not acl.has(token, f"/vms/{guest.vmid}", ["VM.Audit"]):
                continue
            status = guest_status(sim, guest, offline=not _online(call, sim.cluster.nodes[guest.node]))
            entry = {k: v for k, v in status.items() if k not in {"pid", "cpus", "swap", "maxswap"}}
            # 9.x adds memhost (host-side memory; 0 for containers, as in the recorded capture)
            memhost = int(status["mem"] * 1.4) if guest.kind == "qemu" else 0
            entry.update(id=f"{guest.kind}/{guest.vmid}", node=guest.node, maxcpu=status["cpus"],
                         template=int(bool(guest.config.get("template"))), memhost=memhost)  # fmt: skip
            entry = {k: v for k, v in entry.items() if not k.startswith("pressure")}
            result.append(entry)
    for node in sim.cluster.nodes.values():
        online = _online(call, node)
        if kind in (None, "node") and acl.has(token, f"/nodes/{node.name}", ["Sys.Audit"]):
            result.append(_node_entry(call, node))
        if kind in (None, "storage"):
            for storage in node.storages.values():
                if not acl.has(token, f"/storage/{storage.id}", ["Datastore.Audit", "Datastore.AllocateSpace"], True):
                    continue
                entry = {"id": f"storage/{node.name}/{storage.id}", "type": "storage", "node": node.name,
                         "storage": storage.id, "plugintype": storage.type, "content": ",".join(storage.content),
                         "shared": storage.shared, "status": "available" if online else "unknown"}  # fmt: skip
                if online:
                    entry.update(disk=storage.used, maxdisk=storage.total)
                result.append(entry)
        if kind in (None, "sdn"):
            result.append({"id": f"network/{node.name}/zone/localnetwork", "type": "network", "node": node.name,
                           "network": "localnetwork", "network-type": "zone",
                           "status": "ok" if online else "unknown"})  # fmt: skip
    return result


@handles("GET", "/cluster/nextid")
async def nextid(call: Call) -> Any:
    wanted = call.params.get("vmid")
    if wanted is not None:
        if int(wanted) in call.sim.cluster.guests:
            raise param_error({"vmid": f"VM {wanted} already exists"})
        return str(wanted)
    free = call.sim.cluster.nextid()
    if free is None:
        raise PveError(500, "unable to get any free VMID in range [100, 1000000)")
    return str(free)  # Perl stringifies it although the schema says integer


UPID_RE = re.compile(
    r"^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):"
    r"([^:\s/]+):([^:\s/]*):([^:\s/]+):$"
)


def _owns(call: Call, task: Task) -> bool:
    """Tasks.pm ``check_task_user``: a token sees its own tasks, a user sees its own and its tokens' tasks."""
    token = call.token
    return task.owner == token.full_id or (not token.is_token and task.userid == token.userid)


def _visible(call: Call, task: Task) -> bool:
    return _owns(call, task) or call.sim.acl.has(call.token, f"/nodes/{task.node}", ["Sys.Audit"])


@handles("GET", "/cluster/tasks")
async def cluster_tasks(call: Call) -> Any:
    tasks = sorted(call.sim.tasks.tasks.values(), key=lambda t: -t.starttime)
    return [t.list_entry() for t in tasks if _visible(call, t)][:1000]


@handles("GET", "/nodes/{node}/network")
async def network(call: Call) -> Any:
    node = call.node()
    kind = call.params.get("type")
    items: list[dict[str, Any]] = []
    if kind in (None, "eth"):
        items.append({"iface": "eno1", "type": "eth", "method": "manual", "families": ["inet"], "active": 1,
                      "exists": 1, "priority": 3})  # fmt: skip
    if kind in (None, "bridge", "any_bridge", "any_local_bridge", "include_sdn"):
        for index, bridge in enumerate(node.bridges.values()):
            items.append({
                "iface": bridge.name, "type": "bridge", "method": "static", "families": ["inet"], "active": 1,
                "autostart": 1, "bridge_ports": "eno1" if index == 0 else "none", "bridge_stp": "off",
                "bridge_fd": "0", "cidr": f"{bridge.gateway}/{bridge.network.prefixlen}",
                "address": str(bridge.gateway), "netmask": str(bridge.network.netmask), "priority": 4 + index,
            })  # fmt: skip
    return items


# --- tasks ---------------------------------------------------------------------------------------------------------


def _task(call: Call, privilege: str = "Sys.Audit") -> Task:
    node = call.node()
    upid = urllib.parse.unquote(str(call.params["upid"]))
    if not UPID_RE.match(upid):
        raise param_error({"upid": "unable to parse worker upid"})
    task = call.sim.tasks.get(upid)
    if task is None or task.node != node.name:
        raise param_error({"upid": "no such task"})
    if not _owns(call, task):
        call.sim.acl.check(call.token, f"/nodes/{node.name}", [privilege])
    return task


@handles("GET", "/nodes/{node}/tasks")
async def list_tasks(call: Call) -> Any:
    node, params = call.node(), call.params
    source = params.get("source", "archive")
    wanted = {"ok", "warning", "error", "unknown"}
    if params.get("errors"):
        wanted = {"warning", "error", "unknown"}
    elif params.get("statusfilter"):
        wanted = {item.lower() for item in re.split(r"[,;\s]+", str(params["statusfilter"])) if item}
    selected = []
    for task in sorted(call.sim.tasks.tasks.values(), key=lambda t: (-t.starttime, t.upid)):
        if task.node != node.name or not _visible(call, task):
            continue
        if source == "archive" and task.status == "running":
            continue
        if source == "active" and task.status != "running":
            continue
        if params.get("vmid") is not None and task.id != str(params["vmid"]):
            continue
        if params.get("typefilter") and task.type != params["typefilter"]:
            continue
        if params.get("userfilter") and str(params["userfilter"]).lower() not in task.userid.lower():
            continue
        if task.status_type not in wanted:
            continue
        if params.get("since") is not None and task.starttime < int(params["since"]):
            continue
        if params.get("until") is not None and task.starttime > int(params["until"]):
            continue
        selected.append(task.list_entry())
    start, limit = int(params.get("start", 0)), int(params.get("limit", 50))
    call.extra["total"] = len(selected)
    return selected[start : start + limit]


@handles("GET", "/nodes/{node}/tasks/{upid}")
async def task_index(call: Call) -> Any:
    _task(call)
    return [{"name": "log"}, {"name": "status"}]


@handles("GET", "/nodes/{node}/tasks/{upid}/status")
async def task_status(call: Call) -> Any:
    return _task(call).status_payload()


@handles("GET", "/nodes/{node}/tasks/{upid}/log")
async def task_log(call: Call) -> Any:
    task = _task(call)
    start, limit = int(call.params.get("start", 0)), int(call.params.get("limit", 50))
    lines = task.lines or ["no content"]
    call.extra["total"] = len(lines)
    return [{"n": index + 1, "t": line} for index, line in enumerate(lines)][start : start + limit]


@handles("DELETE", "/nodes/{node}/tasks/{upid}")
async def stop_task(call: Call) -> Any:
    task = _task(call, "Sys.Modify")
    call.sim.tasks.stop(task)
    return None
