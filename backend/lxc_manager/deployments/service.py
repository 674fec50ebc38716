"""Deployments: visibility, create (store + enqueue after commit), list, cancel and retry.

Visibility follows nodes: admins see every deployment; everyone else only deployments on nodes granted to
them, and any other deployment answers 404 exactly as if it did not exist.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.auth.principal import Principal
from lxc_manager.core.errors import NotFound
from lxc_manager.deployments.repository import DeploymentRepository
from lxc_manager.models import Deployment

DEPLOYMENT_NOT_FOUND = "Deployment not found"


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
