"""SQL for API tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.models import APIToken


class TokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, token: APIToken) -> None:
        self.session.add(token)

    async def get(self, token_id: str) -> APIToken | None:
        return await self.session.get(APIToken, token_id)

    async def get_by_lookup(self, lookup: str) -> APIToken | None:
        return await self.session.scalar(select(APIToken).where(APIToken.lookup == lookup))

    async def list(
        self, *, user_id: str | None, include_revoked: bool, limit: int, offset: int
    ) -> tuple[Sequence[APIToken], int]:
        query = select(APIToken)
        if user_id is not None:
            query = query.where(APIToken.user_id == user_id)
        if not include_revoked:
            query = query.where(APIToken.revoked_at.is_(None))
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(APIToken.created_at.desc(), APIToken.id).limit(limit).offset(offset)
        )
        return rows.all(), int(total or 0)

    async def touch(self, token_id: str, now: datetime) -> None:
        await self.session.execute(update(APIToken).where(APIToken.id == token_id).values(last_used_at=now))
