"""arq worker composition root: job functions from every domain's ``tasks.py``, JSON serializer, shared ctx."""

from __future__ import annotations

from typing import Any

from arq.connections import RedisSettings

from lxc_manager.core.config import get_settings
from lxc_manager.core.db import create_engine, create_sessionmaker
from lxc_manager.core.jobs import JOB_REGISTRY, json_deserializer, json_serializer
from lxc_manager.core.logging import configure_logging, get_logger
from lxc_manager.deployments.pipeline.reconciler import deployments_on_worker_startup, reconcile_cron_jobs
from lxc_manager.events.broker import create_broker
from lxc_manager.events.publisher import bind_broker

log = get_logger(__name__)


def load_task_modules() -> None:
    """Import every domain's tasks so their ``@job`` functions register."""
    # Domain task modules are imported here (one line each).
    import lxc_manager.deployments.tasks  # noqa: F401


async def on_startup(ctx: dict[str, Any]) -> None:
    settings = get_settings()
    engine = create_engine(settings.effective_database_url)
    ctx["settings"] = settings
    ctx["engine"] = engine
    ctx["sessionmaker"] = create_sessionmaker(engine)
    ctx["events"] = create_broker(settings.redis_url)
    bind_broker(ctx["sessionmaker"], ctx["events"])
    await deployments_on_worker_startup(ctx)  # ctx["jobs"], then re-enqueue what a dead worker left
    log.info("worker_startup", jobs=sorted(JOB_REGISTRY))


async def on_shutdown(ctx: dict[str, Any]) -> None:
    if ctx.get("events") is not None:
        await ctx["events"].close()
    await ctx["engine"].dispose()


def worker_settings() -> dict[str, Any]:
    settings = get_settings()
    if not settings.redis_url:
        raise SystemExit("lxc-manager worker needs LXCM_REDIS_URL; without it jobs run inside `lxc-manager serve`")
    configure_logging(settings.log_level, settings.log_json)
    load_task_modules()
    return {
        "functions": list(JOB_REGISTRY.values()),
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "job_serializer": json_serializer,
        "job_deserializer": json_deserializer,
        "max_jobs": 10,
        # arq re-runs a killed worker's job only after job_timeout + 10 s; the reconciler (start-up + cron)
        # resumes such deployments within a minute under a fresh job id, the DB lease keeps runs exclusive.
        "job_timeout": 3600,
        "max_tries": 20,  # transient retries are bounded per phase by the pipeline (LXCM_DEPLOY_MAX_TRIES)
        "keep_result": 0,  # results are in the DB; a kept result would block re-enqueueing the same job id
        "cron_jobs": reconcile_cron_jobs(),
        "health_check_interval": 30,
    }
