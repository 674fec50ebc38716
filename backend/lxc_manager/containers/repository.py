"""The only SQL of the containers domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.models import Container, ContainerCredential, NodeAccess


class ContainerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_deployment(self, deployment_id: str) -> Container | None:
        query = select(Container).where(Container.deployment_id == deployment_id)
        return (await self.session.scalars(query)).one_or_none()

    async def by_vmid(self, node_id: str | None, vmid: int) -> Container | None:
        query = select(Container).where(Container.node_id == node_id, Container.vmid == vmid)
        return (await self.session.scalars(query)).one_or_none()

    async def visible(self, user_id: str | None, *, limit: int, offset: int) -> Sequence[Container]:
        """Containers on nodes granted to ``user_id`` (None: all), newest first."""
        query = select(Container)
        if user_id is not None:
            query = query.join(NodeAccess, NodeAccess.node_id == Container.node_id).where(NodeAccess.user_id == user_id)
        query = query.order_by(Container.created_at.desc(), Container.id.desc()).limit(limit).offset(offset)
        return (await self.session.scalars(query)).all()

    async def get_visible(self, container_id: str, user_id: str | None) -> Container | None:
        query = select(Container).where(Container.id == container_id)
        if user_id is not None:
            query = query.join(NodeAccess, NodeAccess.node_id == Container.node_id).where(NodeAccess.user_id == user_id)
        return (await self.session.scalars(query)).one_or_none()

    async def credentials(self, container_id: str) -> Sequence[ContainerCredential]:
        query = select(ContainerCredential).where(ContainerCredential.container_id == container_id)
        return (await self.session.scalars(query.order_by(ContainerCredential.name))).all()

    async def credential(self, container_id: str, name: str) -> ContainerCredential | None:
        query = select(ContainerCredential).where(
            ContainerCredential.container_id == container_id, ContainerCredential.name == name
        )
        return (await self.session.scalars(query)).one_or_none()

    def add(self, row: Container | ContainerCredential) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()
