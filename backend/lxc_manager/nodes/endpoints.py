"""``/api/v1/nodes``: the Proxmox node registry (admin writes), connection checks and per-user access grants."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from lxc_manager.auth.dependencies import AdminPrincipal, ReadPrincipal
from lxc_manager.core.deps import DBSession, SettingsDep, client_ip
from lxc_manager.core.errors import responses
from lxc_manager.nodes import service
from lxc_manager.nodes.schemas import (
    CertificateOut,
    CertificateProbeIn,
    NodeAccessOut,
    NodeAccessSet,
    NodeCreate,
    NodeOut,
    NodeTestResult,
    NodeUpdate,
)

router = APIRouter(prefix="/nodes", tags=["nodes"], responses=responses(401, 403))

# Ids are UUIDs; the pattern also keeps control characters (PostgreSQL refuses NUL) out of queries.
NodeID = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,36}$", description="Node id")]
UserID = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,36}$", description="User id")]


@router.get("", operation_id="list_nodes", response_model=list[NodeOut])
async def list_nodes(principal: ReadPrincipal, db: DBSession) -> list[NodeOut]:
    """Nodes visible to the caller: all for admins, the granted ones for everyone else."""
    return [NodeOut.from_node(node) for node in await service.list_visible_nodes(db, principal)]


@router.post(
    "",
    operation_id="create_node",
    response_model=NodeOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(400, 409, 422),
)
async def create_node(
    principal: AdminPrincipal, db: DBSession, settings: SettingsDep, body: NodeCreate, request: Request
) -> NodeOut:
    """Register a node (admin). Secrets are encrypted at rest and never returned."""
    node = await service.create_node(db, settings, principal, body, client_ip(request))
    return NodeOut.from_node(node)


@router.post(
    "/probe-certificate",
    operation_id="probe_node_certificate",
    response_model=CertificateOut,
    responses=responses(400, 422),
)
async def probe_node_certificate(
    principal: AdminPrincipal, db: DBSession, settings: SettingsDep, body: CertificateProbeIn, request: Request
) -> CertificateOut:
    """Fetch a node's TLS certificate without sending any credential, to confirm its fingerprint (admin)."""
    await db.commit()  # hold no database lock during the network round trip
    probe = await service.probe_certificate(settings, body.api_url)
    service.record_probe(db, principal, probe, client_ip(request))
    return probe


@router.get("/{node_id}", operation_id="get_node", response_model=NodeOut, responses=responses(404))
async def get_node(principal: ReadPrincipal, db: DBSession, node_id: NodeID) -> NodeOut:
    return NodeOut.from_node(await service.get_visible_node(db, principal, node_id))


@router.patch("/{node_id}", operation_id="update_node", response_model=NodeOut, responses=responses(400, 404, 409, 422))
async def update_node(
    principal: AdminPrincipal, db: DBSession, settings: SettingsDep, node_id: NodeID, body: NodeUpdate, request: Request
) -> NodeOut:
    """Change a node (admin). Omitted fields, including secrets, keep their stored value."""
    node = await service.get_node_for_admin(db, node_id)
    return NodeOut.from_node(await service.update_node(db, settings, principal, node, body, client_ip(request)))


@router.delete(
    "/{node_id}",
    operation_id="delete_node",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(404, 409),
)
async def delete_node(principal: AdminPrincipal, db: DBSession, node_id: NodeID, request: Request) -> Response:
    node = await service.get_node_for_admin(db, node_id)
    await service.delete_node(db, principal, node, client_ip(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{node_id}/test", operation_id="test_node", response_model=NodeTestResult, responses=responses(404, 503))
async def test_node(
    principal: AdminPrincipal, db: DBSession, settings: SettingsDep, node_id: NodeID, request: Request
) -> NodeTestResult:
    """Check reachability, TLS trust, the token, the PVE version and the token's privileges (admin)."""
    node = await service.get_node_for_admin(db, node_id)
    connection = await service.node_connection(db, node, settings)
    await db.commit()  # hold no database lock during the network checks
    findings = await service.run_test(settings, connection)
    return await service.record_test(db, principal, node_id, findings, client_ip(request))


@router.get(
    "/{node_id}/access", operation_id="list_node_access", response_model=list[NodeAccessOut], responses=responses(404)
)
async def list_node_access(_: AdminPrincipal, db: DBSession, node_id: NodeID) -> list[NodeAccessOut]:
    """Users granted this node (admin). Admins see every node without a grant."""
    return await service.list_node_access(db, await service.get_node_for_admin(db, node_id))


@router.put(
    "/{node_id}/access",
    operation_id="set_node_access",
    response_model=list[NodeAccessOut],
    responses=responses(400, 404, 422),
)
async def set_node_access(
    principal: AdminPrincipal, db: DBSession, node_id: NodeID, body: NodeAccessSet, request: Request
) -> list[NodeAccessOut]:
    """Replace the node's grants with exactly these users (admin)."""
    node = await service.get_node_for_admin(db, node_id)
    return await service.set_node_access(db, principal, node, body.user_ids, client_ip(request))


@router.post(
    "/{node_id}/access/{user_id}",
    operation_id="grant_node_access",
    response_model=NodeAccessOut,
    responses=responses(404),
)
async def grant_node_access(
    principal: AdminPrincipal, db: DBSession, node_id: NodeID, user_id: UserID, request: Request
) -> NodeAccessOut:
    """Grant one user access to this node (admin); granting twice is harmless."""
    node = await service.get_node_for_admin(db, node_id)
    return await service.grant_node_access(db, principal, node, user_id, client_ip(request))


@router.delete(
    "/{node_id}/access/{user_id}",
    operation_id="revoke_node_access",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(404),
)
async def revoke_node_access(
    principal: AdminPrincipal, db: DBSession, node_id: NodeID, user_id: UserID, request: Request
) -> Response:
    node = await service.get_node_for_admin(db, node_id)
    await service.revoke_node_access(db, principal, node, user_id, client_ip(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
