"""The ``/_sim`` control API (not part of PVE): faults, reset, state, tokens/ACLs, shim call logs.

Authenticated with ``Authorization: Bearer <control_token>`` (the token is in ``connection.json``).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lxc_manager.pvesim.acl import AclEntry, ApiToken, privileges_for
from lxc_manager.pvesim.backend import MemoryBackend
from lxc_manager.pvesim.core import PveError, Simulator
from lxc_manager.pvesim.faults import FaultSpecError

Guard = Callable[[Request], None]
Endpoint = Callable[[Request], Awaitable[Any]]


def _sim(request: Request) -> Simulator:
    sim: Simulator = request.app.state.sim
    return sim


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise PveError(400, "body must be JSON") from None
    if not isinstance(data, dict):
        raise PveError(400, "body must be a JSON object")
    return data


def _acl(items: list[dict[str, Any]]) -> list[AclEntry]:
    entries = []
    for item in items:
        names = list(item.get("roles", [])) + list(item.get("privileges", []))
        entries.append(AclEntry(str(item["path"]), privileges_for(names), bool(item.get("propagate", True))))
    return entries


def snapshot_state(sim: Simulator) -> dict[str, Any]:
    cluster = sim.cluster
    return {
        "nodes": {
            name: {
                "online": sim.faults.node_offline(name) is None,
                "storages": {s.id: {"used": s.used, "total": s.total, "volumes": sorted(s.volumes)}
                             for s in node.storages.values()},
                "bridges": {b.name: str(b.network) for b in node.bridges.values()},
            }
            for name, node in cluster.nodes.items()
        },
        "guests": {
            str(g.vmid): {"node": g.node, "type": g.kind, "status": g.status, "config": g.config,
                          "lock": sim.lock_of(g), "snapshots": sorted(g.snapshots)}
            for g in cluster.guests.values()
        },
        "leases": {f"{vmid}/{iface}": str(ip) for (vmid, iface), ip in cluster.leases.items()},
        "tasks": [t.status_payload() for t in sim.tasks.tasks.values()],
        "faults": [f.describe() for f in sim.faults.faults.values()],
        "tokens": [{"id": t.full_id, "privsep": t.privsep, "revoked": t.revoked,
                    "acl": [{"path": e.path, "privileges": sorted(e.privileges), "propagate": e.propagate}
                            for e in t.acl]} for t in sim.acl.tokens.values()],
    }  # fmt: skip


def control_routes(guard: Guard) -> list[Route]:
    def guarded(func: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                guard(request)
                result = await func(request)
            except PveError as exc:
                return JSONResponse({"error": exc.message}, status_code=exc.status)
            except (FaultSpecError, ValueError, KeyError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse(result)

        return endpoint

    async def state(request: Request) -> Any:
        return snapshot_state(_sim(request))

    async def reset(request: Request) -> Any:
        await _sim(request).reset()
        return {"reset": True}

    async def list_faults(request: Request) -> Any:
        return [f.describe() for f in _sim(request).faults.faults.values()]

    async def add_fault(request: Request) -> Any:
        return _sim(request).faults.add(await _json(request)).describe()

    async def clear_faults(request: Request) -> Any:
        _sim(request).faults.reset()
        return {"cleared": True}

    async def delete_fault(request: Request) -> Any:
        if not _sim(request).faults.remove(int(request.path_params["fault_id"])):
            raise PveError(404, "no such fault")
        return {"deleted": True}

    async def put_token(request: Request) -> Any:
        """Create or replace a token: {userid, tokenid, privsep, acl:[{path, roles|privileges, propagate}],
        user_acl:[…]} → {token_id, secret}."""
        sim, body = _sim(request), await _json(request)
        userid, tokenid = str(body["userid"]), str(body["tokenid"])
        secret = str(body.get("secret") or secrets.token_hex(16))
        token = ApiToken(userid, tokenid, secret, bool(body.get("privsep", True)), _acl(body.get("acl", [])))
        sim.acl.add_token(token)
        if "user_acl" in body:
            sim.acl.user_acl[userid] = _acl(body["user_acl"])
        return {"token_id": token.full_id, "secret": secret}

    async def calls(request: Request) -> Any:
        backend = _sim(request).backend
        if not isinstance(backend, MemoryBackend):
            raise PveError(400, "call logs exist only for the memory backend")
        return backend.calls(int(request.path_params["vmid"]))

    return [
        Route("/_sim/state", guarded(state), methods=["GET"]),
        Route("/_sim/reset", guarded(reset), methods=["POST"]),
        Route("/_sim/faults", guarded(list_faults), methods=["GET"]),
        Route("/_sim/faults", guarded(add_fault), methods=["POST"]),
        Route("/_sim/faults", guarded(clear_faults), methods=["DELETE"]),
        Route("/_sim/faults/{fault_id:int}", guarded(delete_fault), methods=["DELETE"]),
        Route("/_sim/tokens", guarded(put_token), methods=["POST"]),
        Route("/_sim/containers/{vmid:int}/calls", guarded(calls), methods=["GET"]),
    ]
