"""API tokens: creation (shown once), listing, revocation, and resolving a Bearer token to its owner.

A token's effective scopes are its own scopes intersected with its owner's current role, evaluated on
every call: demoting or disabling a user immediately shrinks or kills their tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.audit import service as audit
from lxc_manager.auth.principal import Principal, Scope, scopes_for_role
from lxc_manager.core.errors import Forbidden, NotFound, UnprocessableEntity
from lxc_manager.core.models import utcnow
from lxc_manager.models import APIToken, User
from lxc_manager.tokens import format as token_format
from lxc_manager.tokens.repository import TokenRepository
from lxc_manager.tokens.schemas import TokenCreate

# last_used_at is written at most this often.
TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class ResolvedToken:
    token: APIToken
    user: User
    scopes: frozenset[Scope]


def effective_scopes(role: str, token_scopes: str) -> frozenset[Scope]:
    role_scopes = scopes_for_role(role) or frozenset()
    granted = {Scope(s) for s in token_scopes.split() if s in Scope.__members__}
    return role_scopes & frozenset(granted)


@dataclass(frozen=True)
class RejectedToken:
    """A well-formed token that was refused: worth an audit row (garbage is not)."""

    reason: str  # unknown, bad_secret, revoked, expired, owner_disabled
    token_id: str | None
    user_id: str | None


async def resolve(db: AsyncSession, raw_token: str) -> ResolvedToken | RejectedToken | None:
    """The live token and its active owner; a ``RejectedToken`` for a well-formed token that is unknown,
    revoked, expired, has a wrong secret or a disabled owner; None when it is malformed."""
    parsed = token_format.parse(raw_token)
    if parsed is None:
        return None
    row = await TokenRepository(db).get_by_lookup(parsed.lookup)
    if row is None:
        return RejectedToken("unknown", None, None)
    if not token_format.secret_matches(parsed.secret, row.secret_hash):
        return RejectedToken("bad_secret", row.id, row.user_id)
    now = utcnow()
    if row.revoked_at is not None:
        return RejectedToken("revoked", row.id, row.user_id)
    if row.expires_at is not None and row.expires_at <= now:
        return RejectedToken("expired", row.id, row.user_id)
    user = await db.get(User, row.user_id)
    if user is None or not user.is_active or scopes_for_role(user.role) is None:
        return RejectedToken("owner_disabled", row.id, row.user_id)
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_INTERVAL:
        await TokenRepository(db).touch(row.id, now)
        row.last_used_at = now
    return ResolvedToken(token=row, user=user, scopes=effective_scopes(user.role, row.scopes))


async def create(
    db: AsyncSession, principal: Principal, data: TokenCreate, client_ip: str | None
) -> tuple[APIToken, str]:
    """Create a token for the caller; returns (row, plaintext). The plaintext is never stored."""
    requested = frozenset(data.scopes)
    missing = requested - principal.scopes
    if missing:
        names = ", ".join(sorted(s.value for s in missing))
        raise Forbidden(f"You cannot grant scopes you do not hold: {names}", code="scope_not_allowed")
    now = utcnow()
    expires_at = None
    if data.expires_at is not None:
        expires_at = data.expires_at.replace(tzinfo=UTC) if data.expires_at.tzinfo is None else data.expires_at
        if expires_at <= now:
            raise UnprocessableEntity("expires_at must be in the future", code="validation_error")
        if expires_at - now > timedelta(days=3650):
            raise UnprocessableEntity("expires_at must be within 10 years", code="validation_error")
    elif data.expires_in_days is not None:
        expires_at = now + timedelta(days=data.expires_in_days)
    plaintext, parts = token_format.generate()
    row = APIToken(
        user_id=principal.user.id,
        name=data.name,
        lookup=parts.lookup,
        secret_hash=token_format.hash_secret(parts.secret),
        scopes=" ".join(s.value for s in data.scopes),
        created_at=now,
        expires_at=expires_at,
    )
    TokenRepository(db).add(row)
    await db.flush()
    audit.record(
        db,
        "token.create",
        actor_id=principal.user.id,
        actor_name=principal.user.username,
        target_type="api_token",
        target_id=row.id,
        client_ip=client_ip,
        details={"name": row.name, "scopes": row.scopes, "expires_at": expires_at.isoformat() if expires_at else None},
    )
    return row, plaintext


async def list_tokens(
    db: AsyncSession,
    principal: Principal,
    *,
    user_id: str | None,
    all_users: bool,
    include_revoked: bool,
    limit: int,
    offset: int,
) -> tuple[Sequence[APIToken], int]:
    wants_others = all_users or (user_id is not None and user_id != principal.user.id)
    if wants_others and not principal.has(Scope.admin):
        raise Forbidden("Listing other users' tokens needs the 'admin' scope")
    owner = None if all_users and user_id is None else (user_id or principal.user.id)
    return await TokenRepository(db).list(user_id=owner, include_revoked=include_revoked, limit=limit, offset=offset)


async def get_visible(db: AsyncSession, principal: Principal, token_id: str) -> APIToken:
    """The token if the caller owns it or is an admin; 404 otherwise (others' tokens do not exist for you)."""
    row = await TokenRepository(db).get(token_id)
    if row is None or (row.user_id != principal.user.id and not principal.has(Scope.admin)):
        raise NotFound("Token not found")
    return row


async def revoke(db: AsyncSession, principal: Principal, token_id: str, client_ip: str | None) -> APIToken:
    row = await get_visible(db, principal, token_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await db.flush()
        audit.record(
            db,
            "token.revoke",
            actor_id=principal.user.id,
            actor_name=principal.user.username,
            target_type="api_token",
            target_id=row.id,
            client_ip=client_ip,
            details={"name": row.name, "owner_id": row.user_id},
        )
    return row
