"""``/api/v1/containers``: the containers deployments built. Visibility follows nodes (404 otherwise).

Reads only, except revealing a stored credential (write scope, audited, never cached).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from lxc_manager.auth.dependencies import ReadPrincipal, WritePrincipal
from lxc_manager.containers import service
from lxc_manager.containers.schemas import ContainerDetail, ContainerOut, CredentialOut, CredentialRevealed
from lxc_manager.core.deps import DBSession, SettingsDep, client_ip
from lxc_manager.core.errors import responses

router = APIRouter(prefix="/containers", tags=["containers"], responses=responses(401, 403))

ContainerID = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,36}$", description="Container id")]
CredentialName = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="Credential name")
]


@router.get("", operation_id="list_containers", response_model=list[ContainerOut])
async def list_containers(
    principal: ReadPrincipal,
    db: DBSession,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[ContainerOut]:
    """Containers on the nodes the caller may see, newest first."""
    rows = await service.list_visible(db, principal, limit=limit, offset=offset)
    return [ContainerOut.model_validate(row) for row in rows]


@router.get("/{container_id}", operation_id="get_container", response_model=ContainerDetail, responses=responses(404))
async def get_container(principal: ReadPrincipal, db: DBSession, container_id: ContainerID) -> ContainerDetail:
    """One container with its services, links and the names of its stored credentials (never their values)."""
    container = await service.get_visible(db, principal, container_id)
    names = [CredentialOut(**entry) for entry in await service.credential_names(db, container)]
    return ContainerDetail(**ContainerOut.model_validate(container).model_dump(), credentials=names)


@router.post(
    "/{container_id}/credentials/{name}/reveal",
    operation_id="reveal_container_credential",
    response_model=CredentialRevealed,
    responses=responses(404, 422),
)
async def reveal_container_credential(
    principal: WritePrincipal,
    db: DBSession,
    settings: SettingsDep,
    container_id: ContainerID,
    name: CredentialName,
    request: Request,
    response: Response,
) -> CredentialRevealed:
    """Decrypt one stored credential. Needs the write scope and access to the node; audited, never cached."""
    credential, value = await service.reveal_for(db, settings, principal, container_id, name, client_ip(request))
    response.headers["Cache-Control"] = "no-store"
    return CredentialRevealed(
        container_id=credential.container_id, name=credential.name, description=credential.description, value=value
    )
