"""Deployments: visibility, plan, create (store + enqueue after commit), list, cancel and retry.

Visibility follows nodes: admins see every deployment; everyone else only deployments on nodes granted to
them, and any other deployment answers 404 exactly as if it did not exist.

Planning reads the node (no database transaction is held meanwhile, see the endpoints) and has no side
effect. Creating stores the row — secrets only in ``secrets_enc`` — and enqueues ``run_deployment`` with the
deployment id as its only argument once the transaction has committed. Cancel and retry only flip the
state and enqueue; the pipeline (``deployments.pipeline``) does the work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.audit import service as audit
from lxc_manager.auth.principal import Principal
from lxc_manager.core.config import Settings
from lxc_manager.core.errors import Conflict, NotFound
from lxc_manager.core.jobs import JobQueue, enqueue_after_commit
from lxc_manager.core.models import new_id, utcnow
from lxc_manager.deployments.planning import BuiltPlan, build_plan, inspect_node, newest_match
from lxc_manager.deployments.repository import DeploymentFilters, DeploymentRepository
from lxc_manager.deployments.schemas import DeploymentRequest, PlanNode
from lxc_manager.deployments.secrets import encrypt_deployment_secrets
from lxc_manager.events.publisher import emit
from lxc_manager.models import (
    TERMINAL_STATUSES,
    Container,
    Deployment,
    DeploymentStatus,
    Node,
    Phase,
    Template,
    TemplateRevision,
    TemplateStatus,
)
from lxc_manager.nodes.connection import NodeConnection, node_connection
from lxc_manager.nodes.service import get_visible_node
from lxc_manager.templates import catalogue
from lxc_manager.templates.resolve import SECRET_MASK, ResolvedTemplate, is_secret
from lxc_manager.wizard.pve import node_client

DEPLOYMENT_NOT_FOUND = "Deployment not found"
RUN_JOB = "run_deployment"


def job_id_for(deployment_id: str) -> str:
    return f"deployment:{deployment_id}"


async def get_visible_deployment(db: AsyncSession, principal: Principal, deployment_id: str) -> Deployment:
    """The deployment if ``principal`` may see its node; otherwise 404, indistinguishable from a missing one."""
    repo = DeploymentRepository(db)
    if principal.is_admin:
        deployment = await repo.get(deployment_id)
    else:
        deployment = await repo.get_granted(deployment_id, principal.user.id)
    if deployment is None:
        raise NotFound(DEPLOYMENT_NOT_FOUND)
    return deployment


# ------------------------------------------------------------------------------------------------ planning


@dataclass
class PreparedRequest:
    """A request whose node and template exist and are visible, with the node's decrypted connection."""

    request: DeploymentRequest
    node: Node
    connection: NodeConnection
    template: Template
    revision: TemplateRevision
    resolved: ResolvedTemplate


async def prepare(
    db: AsyncSession, settings: Settings, principal: Principal, request: DeploymentRequest
) -> PreparedRequest:
    node = await get_visible_node(db, principal, request.node_id)
    template = await catalogue.get_template(db, request.template)
    if template.status != TemplateStatus.active.value:
        raise Conflict(f"template {template.name!r} is {template.status}; only active templates can be deployed")
    revision = await catalogue.get_revision(db, template, request.template_revision)
    resolved = await catalogue.resolve_revision(db, template, revision)
    connection = await node_connection(db, node, settings)
    return PreparedRequest(request, node, connection, template, revision, resolved)


async def plan(prepared: PreparedRequest) -> BuiltPlan:
    """Read the node and build the plan (422 naming every field the node or template refuses). Reads only."""
    connection, request = prepared.connection, prepared.request
    async with node_client(connection) as pve:
        reality = await inspect_node(pve, connection.pve_node, request.vmid)
        manifest = prepared.resolved.manifest
        wanted = request.ostemplate or manifest.os.volid
        if wanted is None and newest_match(reality.os_templates, manifest.os.template) is None:
            reality.downloadable = [entry.template for entry in await pve.aplinfo(connection.pve_node)]
    node = PlanNode(id=prepared.node.id, name=prepared.node.name, pve_node=connection.pve_node)
    return build_plan(request, prepared.resolved, prepared.revision.id, node, reality)


def stored_request(prepared: PreparedRequest) -> dict[str, Any]:
    """The request as stored and shown: no root password, secret inputs masked."""
    secret = {spec.name for spec in prepared.resolved.manifest.inputs if is_secret(spec)}
    data = prepared.request.model_dump(mode="json", exclude={"root_password"}, exclude_none=True)
    data["inputs"] = {name: SECRET_MASK if name in secret else value for name, value in data["inputs"].items()}
    data["root_password_set"] = prepared.request.root_password is not None
    return data


# ------------------------------------------------------------------------------------------------ writing


def _audit(db: AsyncSession, principal: Principal, action: str, deployment: Deployment, client_ip: str | None,
           **details: Any) -> None:  # fmt: skip
    audit.record(
        db,
        action,
        actor_id=principal.user.id,
        actor_name=principal.user.username,
        target_type="deployment",
        target_id=deployment.id,
        client_ip=client_ip,
        details={"template": deployment.template_name, "node": deployment.node_name, **details},
    )


async def create_deployment(
    db: AsyncSession,
    settings: Settings,
    principal: Principal,
    prepared: PreparedRequest,
    built: BuiltPlan,
    jobs: JobQueue,
    client_ip: str | None,
) -> Deployment:
    """Store the deployment and enqueue ``run_deployment(id)`` after commit."""
    # The node and the revision were read before the round trip to PVE; either may have gone meanwhile.
    await get_visible_node(db, principal, prepared.node.id)
    if await db.get(TemplateRevision, prepared.revision.id) is None:
        raise Conflict(f"template {prepared.template.name!r} changed while planning; try again")
    plan_data = built.plan.model_dump(mode="json")
    deployment = Deployment(
        id=new_id(),  # known before encryption: the ciphertext is bound to it
        created_by=principal.user.id,
        node_id=prepared.node.id,
        node_name=prepared.node.name,
        template_id=prepared.template.id,
        template_revision_id=prepared.revision.id,
        template_name=prepared.template.name,
        template_revision=prepared.revision.number,
        template_hash=prepared.revision.content_hash,
        request=stored_request(prepared),
        inputs=dict(built.inputs),
        plan=plan_data,
        status=DeploymentStatus.pending.value,
        phase=Phase.create.value,
        phases={},
        on_failure=built.plan.on_failure.value,
        pve_node=prepared.connection.pve_node,
        vmid=built.plan.vmid,
        hostname=built.plan.hostname,
        warnings=list(built.plan.warnings),
    )
    encrypt_deployment_secrets(settings, deployment, built.secrets)
    repo = DeploymentRepository(db)
    repo.add(deployment)
    await repo.flush()
    _audit(db, principal, "deployment.create", deployment, client_ip, revision=deployment.template_revision,
           hostname=deployment.hostname, vmid=deployment.vmid)  # fmt: skip
    enqueue_after_commit(jobs, RUN_JOB, deployment.id, job_id=job_id_for(deployment.id))
    return deployment


async def list_deployments(
    db: AsyncSession, principal: Principal, filters: DeploymentFilters, *, limit: int, offset: int
) -> tuple[list[Deployment], int]:
    user_id = None if principal.is_admin else principal.user.id
    rows, total = await DeploymentRepository(db).search(user_id, filters, limit=limit, offset=offset)
    return list(rows), total


async def cancel_deployment(
    db: AsyncSession, principal: Principal, deployment: Deployment, client_ip: str | None
) -> Deployment:
    """Pending: cancelled now. Running: ``cancel_requested`` (the pipeline stops at the next boundary)."""
    if deployment.status in TERMINAL_STATUSES:
        raise Conflict(f"The deployment already ended ({deployment.status}); nothing to cancel")
    deployment.cancel_requested = True
    if deployment.status == DeploymentStatus.pending.value and deployment.lease_owner is None:
        deployment.status = DeploymentStatus.cancelled.value
        deployment.finished_at = utcnow()
        await emit(db, deployment, "result", status=DeploymentStatus.cancelled.value,
                   message="Cancelled before it started")  # fmt: skip
    await DeploymentRepository(db).flush()
    _audit(db, principal, "deployment.cancel", deployment, client_ip, status=deployment.status)
    return deployment


async def retry_deployment(
    db: AsyncSession, principal: Principal, deployment: Deployment, jobs: JobQueue, client_ip: str | None
) -> Deployment:
    """Failed or cancelled → pending again, completed phases kept; the pipeline resumes at the first unfinished."""
    if deployment.status not in (DeploymentStatus.failed.value, DeploymentStatus.cancelled.value):
        raise Conflict(f"Only a failed or cancelled deployment can be retried (this one is {deployment.status})")
    if deployment.node_id is None:
        raise Conflict("The deployment's node was removed; it cannot be retried")
    deployment.status = DeploymentStatus.pending.value
    deployment.cancel_requested = False
    deployment.error_code = deployment.error_message = None
    deployment.finished_at = None
    await DeploymentRepository(db).flush()
    _audit(db, principal, "deployment.retry", deployment, client_ip, phase=deployment.phase)
    # A fresh job id: arq keeps a finished job's id (its result) for a while and would drop a same-id enqueue;
    # the pipeline's lease still guarantees a single runner.
    enqueue_after_commit(jobs, RUN_JOB, deployment.id, job_id=f"{job_id_for(deployment.id)}:retry:{new_id()[:8]}")
    return deployment


# ------------------------------------------------------------------------------------------------ reading


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def phase_duration(record: dict[str, Any]) -> float | None:
    started, finished = _parse_time(record.get("started_at")), _parse_time(record.get("finished_at"))
    if started is None or finished is None:
        return None
    return round(max(0.0, (finished - started).total_seconds()), 3)


async def finalized_container(db: AsyncSession, deployment: Deployment) -> Container | None:
    """The container a succeeded deployment recorded (None before success)."""
    if deployment.status != DeploymentStatus.succeeded.value:
        return None
    return await DeploymentRepository(db).container_of(deployment.id)


def container_links(container: Container | None) -> list[dict[str, str]]:
    """The container's web UI links once the deployment is finalized."""
    if container is None:
        return []
    links = []
    for link in container.links or []:
        if isinstance(link, dict) and isinstance(link.get("url"), str):
            links.append({"name": str(link.get("name") or link.get("service") or "web"), "url": link["url"]})
    return links
