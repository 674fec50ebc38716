"""Aggregates the domain routers under /api/v1. Each domain router declares its own auth dependencies."""

from __future__ import annotations

from fastapi import APIRouter

api_router = APIRouter(prefix="/api/v1")

# Domain routers are registered here (one line each).
from lxc_manager.audit.endpoints import router as audit_router  # noqa: E402

api_router.include_router(audit_router)
from lxc_manager.auth.endpoints import router as auth_router  # noqa: E402

api_router.include_router(auth_router)
from lxc_manager.auth.oidc_endpoints import router as oidc_router  # noqa: E402

api_router.include_router(oidc_router)
from lxc_manager.nodes.endpoints import router as nodes_router  # noqa: E402

api_router.include_router(nodes_router)
from lxc_manager.users.endpoints import router as users_router  # noqa: E402

api_router.include_router(users_router)
from lxc_manager.tokens.endpoints import router as tokens_router  # noqa: E402

api_router.include_router(tokens_router)
from lxc_manager.templates.endpoints import router as templates_router  # noqa: E402

api_router.include_router(templates_router)
from lxc_manager.buckets.endpoints import router as buckets_router  # noqa: E402

api_router.include_router(buckets_router)
from lxc_manager.deployments.endpoints import router as deployments_router  # noqa: E402

api_router.include_router(deployments_router)
from lxc_manager.wizard.endpoints import router as wizard_router  # noqa: E402

api_router.include_router(wizard_router)
from lxc_manager.events.endpoints import router as events_router  # noqa: E402

api_router.include_router(events_router)
from lxc_manager.containers.endpoints import router as containers_router  # noqa: E402

api_router.include_router(containers_router)
