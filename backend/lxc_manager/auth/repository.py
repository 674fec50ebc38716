"""SQL for login sessions and login-throttle counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.models import LoginThrottle, UserSession


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, user_session: UserSession) -> None:
        self.session.add(user_session)

    async def get(self, session_id: str) -> UserSession | None:
        return await self.session.get(UserSession, session_id)

    async def touch(self, session_id: str, now: datetime) -> None:
        await self.session.execute(update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now))

    async def revoke(self, session_id: str, now: datetime) -> None:
        await self.session.execute(
            update(UserSession)
            .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_all_for_user(self, user_id: str, now: datetime, *, except_id: str | None = None) -> int:
        query = update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        if except_id is not None:
            query = query.where(UserSession.id != except_id)
        result = await self.session.execute(query.values(revoked_at=now))
        return int(getattr(result, "rowcount", 0) or 0)

    async def purge_expired(self, before: datetime) -> None:
        """Drop rows whose absolute lifetime ended before ``before`` (they can never be used again)."""
        await self.session.execute(delete(UserSession).where(UserSession.expires_at < before))


class ThrottleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, key: str, *, for_update: bool = False) -> LoginThrottle | None:
        query = select(LoginThrottle).where(LoginThrottle.key == key)
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def get_many(self, keys: list[str]) -> list[LoginThrottle]:
        rows = await self.session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys)))
        return list(rows.all())

    def add(self, row: LoginThrottle) -> None:
        self.session.add(row)

    async def purge_stale(self, window_started_before: datetime, now: datetime) -> None:
        """Forget counters whose window is long over and that block nothing."""
        await self.session.execute(
            delete(LoginThrottle).where(
                LoginThrottle.window_started_at < window_started_before,
                (LoginThrottle.blocked_until.is_(None)) | (LoginThrottle.blocked_until < now),
            )
        )

    async def delete(self, key: str) -> None:
        await self.session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
