"""SQL for pending SSO logins and SSO account links."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.models import OIDCIdentity, OIDCLoginState, User


class OIDCRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: OIDCLoginState | OIDCIdentity | User) -> None:
        self.session.add(row)

    async def purge_login_states(self, created_before: datetime) -> None:
        await self.session.execute(delete(OIDCLoginState).where(OIDCLoginState.created_at < created_before))

    async def take_login_state(self, state: str, browser_binding: str) -> OIDCLoginState | None:
        """Fetch and delete the pending login matching both values; ``None`` when there is none.

        The DELETE's row count decides: of two concurrent callbacks with the same state only one wins.
        """
        row = await self.session.scalar(
            select(OIDCLoginState).where(
                OIDCLoginState.state == state, OIDCLoginState.browser_binding == browser_binding
            )
        )
        if row is None:
            return None
        result = await self.session.execute(
            delete(OIDCLoginState)
            .where(OIDCLoginState.state == state, OIDCLoginState.browser_binding == browser_binding)
            .execution_options(synchronize_session=False)
        )
        if int(getattr(result, "rowcount", 0) or 0) != 1:
            return None
        self.session.expunge(row)
        return row

    async def get_identity(self, issuer: str, subject: str) -> OIDCIdentity | None:
        return await self.session.scalar(
            select(OIDCIdentity).where(OIDCIdentity.issuer == issuer, OIDCIdentity.subject == subject)
        )

    async def list_identities(self, user_id: str) -> Sequence[OIDCIdentity]:
        rows = await self.session.scalars(
            select(OIDCIdentity).where(OIDCIdentity.user_id == user_id).order_by(OIDCIdentity.created_at)
        )
        return rows.all()

    async def get_identity_of_user(self, user_id: str, link_id: str) -> OIDCIdentity | None:
        return await self.session.scalar(
            select(OIDCIdentity).where(OIDCIdentity.user_id == user_id, OIDCIdentity.id == link_id)
        )

    async def delete_identity(self, identity: OIDCIdentity) -> None:
        await self.session.delete(identity)

    async def get_user(self, user_id: str) -> User | None:
        return await self.session.get(User, user_id)

    async def username_taken(self, username: str) -> bool:
        found = await self.session.scalar(
            select(func.count()).select_from(User).where(func.lower(User.username) == username.lower())
        )
        return bool(found)
