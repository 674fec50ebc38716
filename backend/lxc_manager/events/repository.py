"""The only SQL of the events domain: event rows, a deployment's progress and the caller rows an open stream
re-checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.models import APIToken, Deployment, DeploymentEvent, User, UserSession


@dataclass(frozen=True)
class Progress:
    status: str
    last_event_seq: int


class EventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add_all(self, events: Sequence[DeploymentEvent]) -> None:
        self.session.add_all(events)

    async def flush(self) -> None:
        await self.session.flush()

    async def list_after(self, deployment_id: str, after_seq: int, limit: int) -> Sequence[DeploymentEvent]:
        query = (
            select(DeploymentEvent)
            .where(DeploymentEvent.deployment_id == deployment_id, DeploymentEvent.seq > after_seq)
            .order_by(DeploymentEvent.seq)
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def progress(self, deployment_id: str) -> Progress | None:
        query = select(Deployment.status, Deployment.last_event_seq).where(Deployment.id == deployment_id)
        row = (await self.session.execute(query)).one_or_none()
        return Progress(status=row.status, last_event_seq=row.last_event_seq) if row is not None else None

    # Rows an open stream re-reads to decide whether its caller may still watch.
    async def get_user(self, user_id: str) -> User | None:
        return await self.session.get(User, user_id)

    async def get_user_session(self, session_id: str) -> UserSession | None:
        return await self.session.get(UserSession, session_id)

    async def get_api_token(self, token_id: str) -> APIToken | None:
        return await self.session.get(APIToken, token_id)
