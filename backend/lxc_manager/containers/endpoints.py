"""``/api/v1/containers``: the containers deployments built (read-only). Visibility follows nodes (404 otherwise)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from lxc_manager.auth.dependencies import ReadPrincipal
from lxc_manager.containers import service
from lxc_manager.containers.schemas import ContainerDetail, ContainerOut, CredentialOut
from lxc_manager.core.deps import DBSession
from lxc_manager.core.errors import responses

router = APIRouter(prefix="/containers", tags=["containers"], responses=responses(401, 403))

ContainerID = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,36}$", description="Container id")]


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
