"""Wizard support: what a node offers for a new container, OS template downloads, a template's defaults.

Every node route answers 404 for a node the caller cannot see. No database transaction is held while the
node is asked (SQLite writers would wait on it): the connection is read, then the unit of work commits.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, status

from lxc_manager.auth.dependencies import ReadPrincipal, WritePrincipal
from lxc_manager.core.deps import DBSession, SettingsDep, client_ip
from lxc_manager.core.errors import responses
from lxc_manager.wizard import service
from lxc_manager.wizard.schemas import (
    BridgeOut,
    DeployDefaults,
    NodeTaskOut,
    OSTemplateDownloadIn,
    OSTemplatesOut,
    StorageOut,
    VmidSuggestion,
)

router = APIRouter(tags=["wizard"], responses=responses(401, 403))

NodeID = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,36}$", description="Node id")]
UPIDPath = Annotated[str, Path(pattern=r"^UPID:[A-Za-z0-9:._@!-]{10,400}$", description="PVE task id")]
TemplateName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="Template name")]
NODE_ERRORS = responses(404, 502, 503)


@router.get(
    "/nodes/{node_id}/storages",
    operation_id="list_node_storages",
    response_model=list[StorageOut],
    responses=NODE_ERRORS,
)
async def list_node_storages(
    principal: ReadPrincipal,
    db: DBSession,
    settings: SettingsDep,
    node_id: NodeID,
    content: Annotated[
        Literal["rootdir", "vztmpl"], Query(description="rootdir: container disks; vztmpl: OS templates")
    ] = "rootdir",
) -> list[StorageOut]:
    """Enabled storages of the node that can hold ``content``, with total/used/free bytes."""
    connection = await service.visible_connection(db, settings, principal, node_id)
    await db.commit()
    return await service.list_storages(connection, content)


@router.get(
    "/nodes/{node_id}/bridges", operation_id="list_node_bridges", response_model=list[BridgeOut], responses=NODE_ERRORS
)
async def list_node_bridges(
    principal: ReadPrincipal, db: DBSession, settings: SettingsDep, node_id: NodeID
) -> list[BridgeOut]:
    """Bridges (Linux bridges and OVS) a container's network interface can attach to."""
    connection = await service.visible_connection(db, settings, principal, node_id)
    await db.commit()
    return await service.list_bridges(connection)


@router.get(
    "/nodes/{node_id}/os-templates",
    operation_id="list_node_os_templates",
    response_model=OSTemplatesOut,
    responses=NODE_ERRORS,
)
async def list_node_os_templates(
    principal: ReadPrincipal, db: DBSession, settings: SettingsDep, node_id: NodeID
) -> OSTemplatesOut:
    """OS templates already on the node's storages, and the ones it can download."""
    connection = await service.visible_connection(db, settings, principal, node_id)
    await db.commit()
    return await service.list_os_template_choices(connection)


@router.post(
    "/nodes/{node_id}/os-templates/download",
    operation_id="download_node_os_template",
    response_model=NodeTaskOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(404, 422, 502, 503),
)
async def download_node_os_template(
    principal: WritePrincipal,
    db: DBSession,
    settings: SettingsDep,
    node_id: NodeID,
    body: OSTemplateDownloadIn,
    request: Request,
) -> NodeTaskOut:
    """Start downloading an OS template to a storage; follow it with ``status_url`` (``get_node_task``)."""
    connection = await service.visible_connection(db, settings, principal, node_id)
    await db.commit()
    upid = await service.start_download(connection, body)
    service.record_download(db, principal, connection, body, upid, client_ip(request))
    return await service.task_status(connection, upid)


@router.get(
    "/nodes/{node_id}/tasks/{upid}", operation_id="get_node_task", response_model=NodeTaskOut, responses=NODE_ERRORS
)
async def get_node_task(
    principal: ReadPrincipal, db: DBSession, settings: SettingsDep, node_id: NodeID, upid: UPIDPath
) -> NodeTaskOut:
    """The status and log tail of an OS template download started on this node."""
    connection = await service.visible_connection(db, settings, principal, node_id)
    await db.commit()
    return await service.task_status(connection, upid)


@router.get(
    "/nodes/{node_id}/next-vmid", operation_id="suggest_vmid", response_model=VmidSuggestion, responses=NODE_ERRORS
)
async def suggest_vmid(
    principal: ReadPrincipal, db: DBSession, settings: SettingsDep, node_id: NodeID
) -> VmidSuggestion:
    """The lowest free VMID in the node's cluster (a suggestion: deployments claim ids on create)."""
    connection = await service.visible_connection(db, settings, principal, node_id)
    await db.commit()
    return await service.suggest_vmid(connection)


@router.get(
    "/templates/{name}/deploy-defaults",
    operation_id="get_template_deploy_defaults",
    response_model=DeployDefaults,
    responses=responses(404),
)
async def get_template_deploy_defaults(
    principal: ReadPrincipal,
    db: DBSession,
    name: TemplateName,
    revision: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> DeployDefaults:
    """The template's container defaults and its typed inputs (secret defaults masked), for the wizard."""
    return await service.deploy_defaults(db, name, revision)
