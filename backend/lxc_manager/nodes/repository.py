"""The only SQL of the node registry: nodes and per-user access grants."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.models import Node, NodeAccess, User


class NodeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, node_id: str) -> Node | None:
        return await self.session.get(Node, node_id)

    async def get_granted(self, node_id: str, user_id: str) -> Node | None:
        query = (
            select(Node)
            .join(NodeAccess, NodeAccess.node_id == Node.id)
            .where(Node.id == node_id, NodeAccess.user_id == user_id)
        )
        return (await self.session.scalars(query)).one_or_none()

    async def get_by_name(self, name: str) -> Node | None:
        return (await self.session.scalars(select(Node).where(Node.name == name))).one_or_none()

    async def list_all(self) -> Sequence[Node]:
        return (await self.session.scalars(select(Node).order_by(Node.name))).all()

    async def list_granted(self, user_id: str) -> Sequence[Node]:
        query = (
            select(Node)
            .join(NodeAccess, NodeAccess.node_id == Node.id)
            .where(NodeAccess.user_id == user_id)
            .order_by(Node.name)
        )
        return (await self.session.scalars(query)).all()

    async def list_for_update(self) -> Sequence[Node]:
        """Every node, locked against concurrent writers (PostgreSQL; SQLite's BEGIN IMMEDIATE already is)."""
        return (await self.session.scalars(select(Node).order_by(Node.id).with_for_update())).all()

    def add(self, node: Node) -> None:
        self.session.add(node)

    async def delete(self, node: Node) -> None:
        await self.session.execute(delete(NodeAccess).where(NodeAccess.node_id == node.id))
        await self.session.delete(node)

    async def flush(self) -> None:
        await self.session.flush()

    # ------------------------------------------------------------------------------------------- access

    async def list_access(self, node_id: str) -> Sequence[tuple[NodeAccess, User]]:
        query = (
            select(NodeAccess, User)
            .join(User, User.id == NodeAccess.user_id)
            .where(NodeAccess.node_id == node_id)
            .order_by(User.username)
        )
        return [(access, user) for access, user in (await self.session.execute(query)).all()]

    async def get_access(self, node_id: str, user_id: str) -> NodeAccess | None:
        return await self.session.get(NodeAccess, {"user_id": user_id, "node_id": node_id})

    def add_access(self, node_id: str, user_id: str) -> NodeAccess:
        access = NodeAccess(node_id=node_id, user_id=user_id)
        self.session.add(access)
        return access

    async def delete_access(self, access: NodeAccess) -> None:
        await self.session.delete(access)

    async def users_by_ids(self, user_ids: Iterable[str]) -> Sequence[User]:
        ids = list(user_ids)
        if not ids:
            return []
        return (await self.session.scalars(select(User).where(User.id.in_(ids)))).all()
