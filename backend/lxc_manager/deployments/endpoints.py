"""``/api/v1/deployments``: plan, create, list, read, cancel and retry deployments.

Planning and creating ask the node first (storages, bridges, OS templates, VMIDs); the unit of work commits
before that, so no database lock is held during the round trip, and the create then writes in a new one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status

from lxc_manager.auth.dependencies import ReadPrincipal, WritePrincipal
from lxc_manager.core.deps import DBSession, JobQueueDep, SettingsDep, client_ip
from lxc_manager.core.errors import responses
from lxc_manager.deployments import service
from lxc_manager.deployments.repository import DeploymentFilters
from lxc_manager.deployments.schemas import (
    DeploymentDetail,
    DeploymentPage,
    DeploymentPlan,
    DeploymentRequest,
    DeploymentSummary,
    LinkOut,
    PhaseOut,
)
from lxc_manager.models import PHASES, Deployment, DeploymentStatus

router = APIRouter(prefix="/deployments", tags=["deployments"], responses=responses(401, 403))

DeploymentID = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,36}$", description="Deployment id")]
PLAN_ERRORS = responses(404, 409, 422, 502, 503)


def summary(deployment: Deployment) -> DeploymentSummary:
    return DeploymentSummary.model_validate(deployment, from_attributes=True)


async def detail(db: DBSession, deployment: Deployment) -> DeploymentDetail:
    phases = []
    for phase in PHASES:
        record = (deployment.phases or {}).get(phase.value) or {}
        phases.append(
            PhaseOut(
                name=phase.value,
                status=str(record.get("status") or "pending"),
                started_at=record.get("started_at"),
                finished_at=record.get("finished_at"),
                duration_s=service.phase_duration(record),
                attempts=int(record.get("attempts") or 0),
                error=record.get("error"),
            )
        )
    container = await service.finalized_container(db, deployment)
    links = [LinkOut(**link) for link in service.container_links(container)]
    base = summary(deployment).model_dump()
    return DeploymentDetail(
        **base,
        template_hash=deployment.template_hash,
        on_failure=deployment.on_failure,
        attempts=deployment.attempts,
        phases=phases,
        request=deployment.request or {},
        inputs=(deployment.plan or {}).get("inputs", deployment.inputs or {}),
        plan=deployment.plan or {},
        warnings=list(deployment.warnings or []),
        links=links,
        container_id=container.id if container else None,
        last_event_seq=deployment.last_event_seq,
    )


@router.post("/plan", operation_id="plan_deployment", response_model=DeploymentPlan, responses=PLAN_ERRORS)
async def plan_deployment(
    principal: WritePrincipal, db: DBSession, settings: SettingsDep, body: DeploymentRequest
) -> DeploymentPlan:
    """Validate a request against the template and the node and return the exact plan. Changes nothing."""
    prepared = await service.prepare(db, settings, principal, body)
    await db.commit()
    return (await service.plan(prepared)).plan


@router.post(
    "",
    operation_id="create_deployment",
    response_model=DeploymentDetail,
    status_code=status.HTTP_201_CREATED,
    responses=PLAN_ERRORS,
)
async def create_deployment(
    principal: WritePrincipal,
    db: DBSession,
    settings: SettingsDep,
    jobs: JobQueueDep,
    body: DeploymentRequest,
    request: Request,
) -> DeploymentDetail:
    """Validate like the plan, store the deployment and start it. Follow it with the events stream."""
    prepared = await service.prepare(db, settings, principal, body)
    await db.commit()
    built = await service.plan(prepared)
    deployment = await service.create_deployment(db, settings, principal, prepared, built, jobs, client_ip(request))
    return await detail(db, deployment)


@router.get("", operation_id="list_deployments", response_model=DeploymentPage, responses=responses(422))
async def list_deployments(
    principal: ReadPrincipal,
    db: DBSession,
    status_filter: Annotated[DeploymentStatus | None, Query(alias="status")] = None,
    node_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9-]{1,36}$")] = None,
    template: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DeploymentPage:
    """Deployments on nodes the caller can see, newest first."""
    filters = DeploymentFilters(
        status=status_filter.value if status_filter else None, node_id=node_id, template_name=template
    )
    rows, total = await service.list_deployments(db, principal, filters, limit=limit, offset=offset)
    return DeploymentPage(items=[summary(row) for row in rows], total=total, limit=limit, offset=offset)


@router.get(
    "/{deployment_id}", operation_id="get_deployment", response_model=DeploymentDetail, responses=responses(404)
)
async def get_deployment(principal: ReadPrincipal, db: DBSession, deployment_id: DeploymentID) -> DeploymentDetail:
    """Status, phases with durations, VMID, IP address, links once finalized, and the error if it failed."""
    return await detail(db, await service.get_visible_deployment(db, principal, deployment_id))


@router.post(
    "/{deployment_id}/cancel",
    operation_id="cancel_deployment",
    response_model=DeploymentDetail,
    responses=responses(404, 409),
)
async def cancel_deployment(
    principal: WritePrincipal, db: DBSession, deployment_id: DeploymentID, request: Request
) -> DeploymentDetail:
    """Cancel: a pending deployment ends now; a running one stops at the next step boundary. Ended: 409."""
    deployment = await service.get_visible_deployment(db, principal, deployment_id)
    await service.cancel_deployment(db, principal, deployment, client_ip(request))
    return await detail(db, deployment)


@router.post(
    "/{deployment_id}/retry",
    operation_id="retry_deployment",
    response_model=DeploymentDetail,
    responses=responses(404, 409),
)
async def retry_deployment(
    principal: WritePrincipal, db: DBSession, jobs: JobQueueDep, deployment_id: DeploymentID, request: Request
) -> DeploymentDetail:
    """Run a failed or cancelled deployment again from its first unfinished phase. Otherwise 409."""
    deployment = await service.get_visible_deployment(db, principal, deployment_id)
    await service.retry_deployment(db, principal, deployment, jobs, client_ip(request))
    return await detail(db, deployment)
