"""Composition root: builds the FastAPI app, its lifespan state and routers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from lxc_manager.api import api_router
from lxc_manager.core.config import Settings, get_settings
from lxc_manager.core.db import create_engine, create_sessionmaker
from lxc_manager.core.errors import install_error_handlers, responses
from lxc_manager.core.jobs import ArqJobQueue, InProcessJobQueue, JobQueue
from lxc_manager.core.logging import configure_logging, get_logger
from lxc_manager.core.middleware import RequestContextMiddleware
from lxc_manager.core.spa import mount_spa
from lxc_manager.core.state import AppState
from lxc_manager.deployments.pipeline.reconciler import start_in_process_reconciler
from lxc_manager.events.broker import create_broker
from lxc_manager.events.publisher import bind_broker
from lxc_manager.health.endpoints import router as health_router
from lxc_manager.templates.startup import sync_on_startup

log = get_logger(__name__)


def operation_id(route: APIRoute) -> str:
    """Stable operation ids: the route's explicit ``operation_id`` or its function name."""
    return route.name


async def build_state(settings: Settings) -> AppState:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.effective_database_url)
    sessionmaker = create_sessionmaker(engine)
    redis = None
    jobs: JobQueue
    if settings.redis_url:
        from arq import create_pool
        from arq.connections import RedisSettings

        from lxc_manager.core.jobs import json_deserializer, json_serializer

        pool = await create_pool(
            RedisSettings.from_dsn(settings.redis_url),
            job_serializer=json_serializer,
            job_deserializer=json_deserializer,
        )
        redis = pool
        jobs = ArqJobQueue(pool)
    else:
        jobs = InProcessJobQueue()
    events = create_broker(settings.redis_url)
    bind_broker(sessionmaker, events)
    state = AppState(settings=settings, engine=engine, sessionmaker=sessionmaker, jobs=jobs, redis=redis, events=events)
    if isinstance(jobs, InProcessJobQueue):
        jobs.ctx.update({"state": state, "settings": settings, "sessionmaker": sessionmaker, "events": events})
    return state


async def close_state(state: AppState) -> None:
    await state.jobs.close()
    if state.events is not None:
        await state.events.close()
    await state.engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await build_state(settings)
        app.state.lxcm = state
        log.info("startup", database=state.engine.url.get_backend_name(), redis=bool(settings.redis_url))
        await sync_on_startup(state)  # never raises: a broken template is logged, not fatal
        reconciler = None  # jobs in-process: resume deployments an earlier process left unfinished
        if isinstance(state.jobs, InProcessJobQueue):
            reconciler = start_in_process_reconciler(state.sessionmaker, state.jobs)
        try:
            yield
        finally:
            if reconciler is not None:
                reconciler.cancel()
            await close_state(state)

    app = FastAPI(
        title="LXC Template Manager",
        version="0.1.0",
        description="Self-service ready-to-use LXC containers on Proxmox VE.",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        responses=responses(400, 422, 500),
    )
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health_router)
    app.include_router(api_router)
    _check_unique_operation_ids(app)
    mount_spa(app, settings.frontend_dir)  # last: its catch-all must not shadow an API route
    return app


def iter_api_routes(router: Any) -> Iterator[APIRoute]:
    """Every APIRoute, descending into included routers (FastAPI keeps them as lazy branches)."""
    for route in router.routes:
        if isinstance(route, APIRoute):
            yield route
        original = getattr(route, "original_router", None)
        if original is not None:
            yield from iter_api_routes(original)


def _check_unique_operation_ids(app: FastAPI) -> None:
    seen: set[tuple[str, str]] = set()
    names: dict[str, str] = {}
    for route in iter_api_routes(app.router):
        name = route.operation_id or route.name
        key = (route.path, ",".join(sorted(route.methods or ())))
        if key in seen:  # the same route reached twice through the tree
            continue
        seen.add(key)
        if name in names:
            raise RuntimeError(f"duplicate operation id {name!r} ({names[name]} and {route.path})")
        names[name] = route.path
