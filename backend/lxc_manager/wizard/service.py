"""Wizard reads against a node (storages, bridges, OS templates, next VMID), template downloads as tracked
PVE tasks, and a template's deployment defaults. Every node call goes through :func:`wizard.pve.node_client`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.audit import service as audit
from lxc_manager.auth.principal import Principal
from lxc_manager.core.config import Settings
from lxc_manager.core.errors import FieldError, NotFound, UnprocessableEntity
from lxc_manager.deployments.planning import ROOTDIR, VZTMPL, usable, version_key
from lxc_manager.integrations.proxmox import (
    ProxmoxAPIError,
    ProxmoxNotFound,
    ProxmoxValidationError,
    StorageEntry,
    parse_upid,
)
from lxc_manager.nodes.connection import NodeConnection, node_connection
from lxc_manager.nodes.service import get_visible_node
from lxc_manager.templates import catalogue
from lxc_manager.templates.format import Input
from lxc_manager.templates.resolve import SECRET_MASK, is_secret
from lxc_manager.wizard.pve import node_client
from lxc_manager.wizard.schemas import (
    BridgeOut,
    DeployDefaults,
    DownloadableTemplateOut,
    NodeTaskOut,
    OSTemplateDownloadIn,
    OSTemplateOut,
    OSTemplatesOut,
    StorageOut,
    VmidSuggestion,
)

DOWNLOAD_TASK = "download"
TASK_LOG_LINES = 20


async def visible_connection(
    db: AsyncSession, settings: Settings, principal: Principal, node_id: str
) -> NodeConnection:
    """The decrypted connection of a node the caller may see (404 otherwise)."""
    node = await get_visible_node(db, principal, node_id)
    return await node_connection(db, node, settings)


def _storage_out(entry: StorageEntry) -> StorageOut:
    content = sorted(entry.content_types)
    return StorageOut(
        storage=entry.storage,
        type=entry.type,
        content=content,
        shared=bool(entry.shared),
        active=entry.active is not False,
        total=entry.total,
        used=entry.used,
        avail=entry.avail,
        supports_containers=ROOTDIR in content,
        supports_templates=VZTMPL in content,
    )


async def list_storages(connection: NodeConnection, content: str) -> list[StorageOut]:
    """Enabled, active storages holding ``content`` (rootdir: container disks; vztmpl: OS templates)."""
    async with node_client(connection) as pve:
        entries = await pve.storages(connection.pve_node, enabled=True)
    return [_storage_out(e) for e in entries if content in e.content_types and usable(e)]


async def list_bridges(connection: NodeConnection) -> list[BridgeOut]:
    async with node_client(connection) as pve:
        networks = await pve.networks(connection.pve_node)
    return [
        BridgeOut(
            iface=net.iface,
            type=net.type,
            active=bool(net.active),
            cidr=net.cidr,
            gateway=net.gateway,
            vlan_aware=bool(net.bridge_vlan_aware),
            comments=net.comments,
        )
        for net in sorted(networks, key=lambda n: version_key(n.iface))
    ]


async def list_os_template_choices(connection: NodeConnection) -> OSTemplatesOut:
    async with node_client(connection) as pve:
        storages = await pve.storages(connection.pve_node, enabled=True)
        contents = [
            entry
            for storage in storages
            if VZTMPL in storage.content_types and usable(storage)
            for entry in await pve.storage_content(connection.pve_node, storage.storage, content=VZTMPL)
        ]
        appliances = await pve.aplinfo(connection.pve_node)
    on_storage = [
        OSTemplateOut(
            volid=entry.volid,
            storage=entry.volid.split(":", 1)[0],
            file=entry.volid.rsplit("/", 1)[-1],
            size=entry.size,
            ctime=entry.ctime,
        )
        for entry in contents
    ]
    on_storage.sort(key=lambda t: version_key(t.file), reverse=True)
    downloadable = [
        DownloadableTemplateOut(
            template=a.template,
            package=a.package,
            headline=a.headline,
            os=a.os,
            version=a.version,
            section=a.section,
            architecture=a.architecture,
            description=a.description,
        )
        for a in appliances
        if (a.type or "lxc") == "lxc"
    ]
    downloadable.sort(key=lambda a: version_key(a.template), reverse=True)
    return OSTemplatesOut(on_storage=on_storage, downloadable=downloadable)


def _task_url(node_id: str, upid: str) -> str:
    return f"/api/v1/nodes/{node_id}/tasks/{upid}"


def _invalid(loc: str, message: str) -> UnprocessableEntity:
    return UnprocessableEntity(
        f"{loc}: {message}", fields=[FieldError(loc=["body", loc], msg=message, type="value_error")]
    )


async def start_download(connection: NodeConnection, body: OSTemplateDownloadIn) -> str:
    """Start ``pveam download``-equivalent on the node; returns the task's UPID. Bad choices are 422s."""
    async with node_client(connection) as pve:
        storages = {s.storage: s for s in await pve.storages(connection.pve_node, enabled=True)}
        target = storages.get(body.storage)
        if target is None:
            raise _invalid("storage", f"node {connection.pve_node} has no enabled storage {body.storage!r}")
        if VZTMPL not in target.content_types:
            raise _invalid("storage", f"storage {body.storage!r} cannot hold OS templates (no 'vztmpl' content)")
        offered = {a.template for a in await pve.aplinfo(connection.pve_node)}
        if body.template not in offered:
            raise _invalid("template", f"{body.template!r} is not offered by the node (see os-templates)")
        try:
            return await pve.download_template(connection.pve_node, body.storage, body.template)
        except (ProxmoxValidationError, ProxmoxNotFound) as exc:
            raise _invalid("template", f"Proxmox refused the download: {exc.reason}"[:300]) from None


def record_download(db: AsyncSession, principal: Principal, connection: NodeConnection, body: OSTemplateDownloadIn,
                    upid: str, client_ip: str | None) -> None:  # fmt: skip
    audit.record(
        db,
        "node.os_template.download",
        actor_id=principal.user.id,
        actor_name=principal.user.username,
        target_type="node",
        target_id=connection.node_id,
        client_ip=client_ip,
        details={"storage": body.storage, "template": body.template, "upid": upid},
    )


async def task_status(connection: NodeConnection, upid: str) -> NodeTaskOut:
    """A download task of this node (other tasks and other nodes' tasks answer 404)."""
    try:
        parsed = parse_upid(upid)
    except ValueError:
        raise NotFound("Task not found") from None
    if parsed.node != connection.pve_node or parsed.type != DOWNLOAD_TASK:
        raise NotFound("Task not found")
    async with node_client(connection) as pve:
        try:
            status = await pve.task_status(upid, connection.pve_node)
            tail = await pve.task_log_tail(upid, connection.pve_node, lines=TASK_LOG_LINES)
        except (ProxmoxNotFound, ProxmoxValidationError):
            raise NotFound("Task not found") from None
        except ProxmoxAPIError as exc:
            if exc.status == 404:
                raise NotFound("Task not found") from None
            raise
    ok: bool | None = None
    if not status.running:
        ok = status.exitstatus == "OK" or (status.exitstatus or "").startswith("WARNINGS")
    return NodeTaskOut(
        upid=upid,
        node_id=connection.node_id,
        type=status.type,
        status=status.status,
        exitstatus=status.exitstatus,
        ok=ok,
        starttime=status.starttime,
        log_tail=tail,
        status_url=_task_url(connection.node_id, upid),
    )


async def suggest_vmid(connection: NodeConnection) -> VmidSuggestion:
    async with node_client(connection) as pve:
        return VmidSuggestion(vmid=await pve.nextid())


def _input_out(spec: Input) -> dict[str, Any]:
    out = spec.model_dump()
    if is_secret(spec) and out.get("default") is not None:
        out["default"] = SECRET_MASK
    return out


async def deploy_defaults(db: AsyncSession, name: str, revision: int | None) -> DeployDefaults:
    template = await catalogue.get_template(db, name)
    stored = await catalogue.get_revision(db, template, revision)
    resolved = await catalogue.resolve_revision(db, template, stored)
    manifest = resolved.manifest
    return DeployDefaults(
        template=template.name,
        revision=stored.number,
        content_hash=stored.content_hash,
        description=manifest.description or "",
        hostname=template.name.strip("-")[:63],
        os_template=manifest.os.template,
        os_volid=manifest.os.volid,
        container=manifest.container.model_dump(),
        inputs=[_input_out(spec) for spec in manifest.inputs],
        services=[service.model_dump(exclude_none=True) for service in manifest.services],
        credentials=[credential.name for credential in manifest.credentials],
        packages=[package.spec for package in resolved.packages.packages],
        scripts=[script.name for script in resolved.scripts],
    )
