"""The only SQL of the deployments domain (the pipeline's lease queries live in ``pipeline/lease.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.models import Container, Deployment, NodeAccess


@dataclass(frozen=True)
class DeploymentFilters:
    status: str | None = None
    node_id: str | None = None
    template_name: str | None = None


class DeploymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, deployment_id: str) -> Deployment | None:
        return await self.session.get(Deployment, deployment_id)

    async def get_granted(self, deployment_id: str, user_id: str) -> Deployment | None:
        """The deployment when its node is granted to ``user_id`` (a deployment whose node is gone is admin-only)."""
        query = (
            select(Deployment)
            .join(NodeAccess, NodeAccess.node_id == Deployment.node_id)
            .where(Deployment.id == deployment_id, NodeAccess.user_id == user_id)
        )
        return (await self.session.scalars(query)).one_or_none()

    def _visible(self, user_id: str | None, filters: DeploymentFilters) -> Select[Deployment]:
        query = select(Deployment)
        if user_id is not None:
            query = query.join(NodeAccess, NodeAccess.node_id == Deployment.node_id).where(
                NodeAccess.user_id == user_id
            )
        if filters.status is not None:
            query = query.where(Deployment.status == filters.status)
        if filters.node_id is not None:
            query = query.where(Deployment.node_id == filters.node_id)
        if filters.template_name is not None:
            query = query.where(Deployment.template_name == filters.template_name)
        return query

    async def search(
        self, user_id: str | None, filters: DeploymentFilters, *, limit: int, offset: int
    ) -> tuple[Sequence[Deployment], int]:
        """A page of deployments visible to ``user_id`` (None: every deployment), newest first, and the total."""
        query = self._visible(user_id, filters)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        page = query.order_by(Deployment.created_at.desc(), Deployment.id.desc()).limit(limit).offset(offset)
        return (await self.session.scalars(page)).all(), int(total or 0)

    async def container_of(self, deployment_id: str) -> Container | None:
        query = select(Container).where(Container.deployment_id == deployment_id)
        return (await self.session.scalars(query)).one_or_none()

    def add(self, deployment: Deployment) -> None:
        self.session.add(deployment)

    async def flush(self) -> None:
        await self.session.flush()
