"""Re-enqueue deployments that a dead worker left unfinished (start-up of workers and of the in-process app).

A deployment is stale when it is pending or running and its lease has expired (or was never taken) and its
heartbeat is older than ``stale_after_s``. It is enqueued under a fresh job id: the dead worker's arq job id may
still be blocked by its in-progress key until arq's own timeout; the DB lease makes the duplicate harmless.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lxc_manager.core.db import unit_of_work
from lxc_manager.core.jobs import JobQueue
from lxc_manager.core.logging import get_logger
from lxc_manager.core.models import utcnow
from lxc_manager.deployments.pipeline.options import PipelineOptions
from lxc_manager.models import Deployment, DeploymentStatus

log = get_logger(__name__)

JOB_NAME = "run_deployment"


def job_id_for(deployment_id: str, suffix: str | None = None) -> str:
    return f"deployment:{deployment_id}" + (f":{suffix}" if suffix else "")


async def stale_deployments(db: AsyncSession, stale_after_s: float) -> list[tuple[str, int]]:
    now = utcnow()
    cutoff = now - timedelta(seconds=stale_after_s)
    query = select(Deployment.id, Deployment.lease_version).where(
        Deployment.status.in_([DeploymentStatus.pending.value, DeploymentStatus.running.value]),
        or_(Deployment.lease_expires_at.is_(None), Deployment.lease_expires_at < now),
        or_(
            Deployment.heartbeat_at.is_(None) & (Deployment.updated_at < cutoff),
            and_(Deployment.heartbeat_at.is_not(None), Deployment.heartbeat_at < cutoff),
        ),
    )
    return [(row[0], row[1]) for row in (await db.execute(query)).all()]


async def reconcile(
    sessionmaker: async_sessionmaker[AsyncSession], jobs: JobQueue, *, options: PipelineOptions | None = None
) -> int:
    """Enqueue every stale unfinished deployment once; returns how many were enqueued."""
    options = options or PipelineOptions()
    async with unit_of_work(sessionmaker) as db:
        stale = await stale_deployments(db, options.stale_after_s)
    enqueued = 0
    for deployment_id, version in stale:
        # One job id per lease generation: a repeated reconcile does not pile up jobs for the same stall.
        if await jobs.enqueue(JOB_NAME, deployment_id, job_id=job_id_for(deployment_id, f"recover{version}")):
            enqueued += 1
    if stale:
        log.info("deployments_reconciled", stale=len(stale), enqueued=enqueued)
    return enqueued


async def deployments_on_worker_startup(ctx: dict[str, Any]) -> None:
    """Worker start-up: a job queue in ``ctx["jobs"]`` (the worker's own Redis pool), then one reconcile pass."""
    from lxc_manager.core.jobs import ArqJobQueue

    ctx["jobs"] = ArqJobQueue(ctx["redis"])
    options: PipelineOptions = ctx.get("pipeline_options") or PipelineOptions()
    try:
        await reconcile(ctx["sessionmaker"], ctx["jobs"], options=options)
    except Exception:  # never keep a worker from starting; the cron pass tries again
        log.exception("reconcile_at_startup_failed")


def reconcile_cron_jobs() -> list[Any]:
    """An arq cron entry running ``reconcile_deployments`` every minute."""
    from arq.cron import cron

    return [cron("lxc_manager.deployments.tasks.reconcile_deployments", name="reconcile_deployments", second=7)]


RECONCILE_INTERVAL_S = 60.0


def start_in_process_reconciler(
    sessionmaker: async_sessionmaker[AsyncSession], jobs: JobQueue, interval: float = RECONCILE_INTERVAL_S
) -> asyncio.Task[None]:
    """Without Redis (jobs run inside the app): reconcile now and then every ``interval`` s, like the worker cron."""
    import lxc_manager.deployments.tasks  # noqa: F401 - registers run_deployment in this process's job registry

    async def loop() -> None:
        while True:
            try:
                await reconcile(sessionmaker, jobs)
            except Exception:
                log.exception("reconcile_failed")
            await asyncio.sleep(interval)

    return asyncio.create_task(loop(), name="deployments-reconciler")
