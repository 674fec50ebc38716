from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.models import AuditEvent


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, event: AuditEvent) -> None:
        self.session.add(event)

    async def list(
        self,
        *,
        action: str | None = None,
        actor_id: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[Sequence[AuditEvent], int]:
        query = select(AuditEvent)
        if action:
            query = query.where(AuditEvent.action.startswith(action))
        if actor_id:
            query = query.where(AuditEvent.actor_id == actor_id)
        if outcome:
            query = query.where(AuditEvent.outcome == outcome)
        if since:
            query = query.where(AuditEvent.at >= since)
        if until:
            query = query.where(AuditEvent.at < until)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(AuditEvent.at.desc(), AuditEvent.id).limit(limit).offset(offset)
        )
        return rows.all(), int(total or 0)
