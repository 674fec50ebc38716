"""arq job of the deployments domain (thin: the pipeline does the work). The argument is the deployment id only."""

from __future__ import annotations

import asyncio
from typing import Any

from lxc_manager.core.jobs import job
from lxc_manager.core.logging import get_logger
from lxc_manager.deployments.pipeline.options import PipelineOptions
from lxc_manager.deployments.pipeline.reconciler import reconcile
from lxc_manager.deployments.pipeline.runner import execute

log = get_logger(__name__)


@job
async def run_deployment(ctx: dict[str, Any], deployment_id: str) -> str:
    """Run (or resume) one deployment. Transient failures: arq ``Retry`` with backoff (in-process: sleep, rerun)."""
    options: PipelineOptions = ctx.get("pipeline_options") or PipelineOptions()
    while True:
        outcome = await execute(ctx["sessionmaker"], ctx["settings"], deployment_id, options=options)
        if outcome.retry_in is None:
            return outcome.status
        if "redis" in ctx:  # under arq: free the worker slot, come back later
            from arq.worker import Retry

            raise Retry(defer=outcome.retry_in)
        await asyncio.sleep(outcome.retry_in)


async def reconcile_deployments(ctx: dict[str, Any]) -> int:
    """Periodic safety net (arq cron, see ``worker.py``): re-enqueue deployments whose worker died."""
    options: PipelineOptions = ctx.get("pipeline_options") or PipelineOptions()
    return await reconcile(ctx["sessionmaker"], ctx["jobs"], options=options)
