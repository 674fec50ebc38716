"""SQL for user accounts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.models import Role, User


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, user: User) -> None:
        self.session.add(user)

    async def get(self, user_id: str) -> User | None:
        return await self.session.get(User, user_id)

    async def get_by_username(self, username: str) -> User | None:
        return await self.session.scalar(select(User).where(User.username == username))

    async def username_taken(self, username: str) -> bool:
        """Case-insensitive: 'Alice' and 'alice' would be indistinguishable to people."""
        found = await self.session.scalar(select(User.id).where(func.lower(User.username) == username.lower()).limit(1))
        return found is not None

    async def list(
        self,
        *,
        search: str | None = None,
        role: str | None = None,
        active: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[Sequence[User], int]:
        query = select(User)
        if search:
            pattern = f"%{_escape_like(search.lower())}%"
            query = query.where(
                or_(
                    func.lower(User.username).like(pattern, escape="\\"),
                    func.lower(func.coalesce(User.display_name, "")).like(pattern, escape="\\"),
                    func.lower(func.coalesce(User.email, "")).like(pattern, escape="\\"),
                )
            )
        if role:
            query = query.where(User.role == role)
        if active is not None:
            query = query.where(User.is_active.is_(active))
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(query.order_by(User.username).limit(limit).offset(offset))
        return rows.all(), int(total or 0)

    async def count_active_admins(self) -> int:
        count = await self.session.scalar(
            select(func.count()).select_from(User).where(User.role == Role.admin.value, User.is_active.is_(True))
        )
        return int(count or 0)

    async def delete(self, user: User) -> None:
        await self.session.delete(user)
