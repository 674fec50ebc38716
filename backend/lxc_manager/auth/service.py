"""Authentication: resolving callers, password login/logout, and password changes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.audit import service as audit
from lxc_manager.auth import throttle
from lxc_manager.auth.passwords import hash_password_async, needs_rehash, validate_password, verify_password_async
from lxc_manager.auth.principal import Principal, scopes_for_role
from lxc_manager.auth.repository import SessionRepository
from lxc_manager.auth.sessions import (
    TOUCH_INTERVAL,
    OpenedSession,
    hash_session_id,
    open_session,
    revoke_session_cookie,
    revoke_user_sessions,
    session_is_live,
)
from lxc_manager.core.db import unit_of_work
from lxc_manager.core.errors import Forbidden, NotAuthenticated
from lxc_manager.core.models import utcnow
from lxc_manager.core.state import AppState
from lxc_manager.models import User
from lxc_manager.tokens import service as tokens
from lxc_manager.users.repository import UserRepository

# The one answer for unknown user, wrong password, disabled user and SSO-only account.
INVALID_CREDENTIALS = "Invalid username or password"


@dataclass(frozen=True)
class SessionPrincipal:
    principal: Principal
    csrf_token: str


async def principal_from_session(state: AppState, cookie_value: str) -> SessionPrincipal | None:
    """The live session's user (in a short transaction of its own), or None."""
    session_id = hash_session_id(cookie_value)
    async with unit_of_work(state.sessionmaker) as db:
        row = await SessionRepository(db).get(session_id)
        now = utcnow()
        if row is None or not session_is_live(row, state.settings, now):
            return None
        user = await db.get(User, row.user_id)
        scopes = scopes_for_role(user.role) if user is not None else None
        if user is None or not user.is_active or scopes is None:
            return None
        if now - row.last_seen_at >= TOUCH_INTERVAL:
            await SessionRepository(db).touch(row.id, now)
        principal = Principal(user=user, via="session", scopes=scopes, session_id=row.id)
        return SessionPrincipal(principal=principal, csrf_token=row.csrf_token)


async def principal_from_token(state: AppState, raw_token: str, client_ip: str | None = None) -> Principal | None:
    """The token's owner with the token's effective scopes, or None. Refused well-formed tokens are audited."""
    async with unit_of_work(state.sessionmaker) as db:
        resolved = await tokens.resolve(db, raw_token)
    if isinstance(resolved, tokens.ResolvedToken):
        return Principal(user=resolved.user, via="token", scopes=resolved.scopes, token_id=resolved.token.id)
    if isinstance(resolved, tokens.RejectedToken):
        await audit.record_detached(
            state.sessionmaker,
            "auth.token_rejected",
            actor_id=resolved.user_id,
            target_type="api_token",
            target_id=resolved.token_id,
            outcome="failure",
            client_ip=client_ip,
            details={"reason": resolved.reason},
        )
    return None


@dataclass(frozen=True)
class LoginResult:
    user: User
    opened: OpenedSession


async def login(
    db: AsyncSession,
    state: AppState,
    *,
    username: str,
    password: str,
    client_ip: str | None,
    user_agent: str | None,
    previous_cookie: str | None,
) -> LoginResult:
    """Check the password (throttled, no enumeration) and open a new session. Raises 401 or 429.

    The lookup and the argon2 check run before the request's transaction starts: failures are written
    in transactions of their own (the request rolls back), and on SQLite an open request transaction
    would hold the write lock those need. argon2 also should not run while holding a database lock.
    """
    await throttle.ensure_not_blocked(state.sessionmaker, username, client_ip)
    async with unit_of_work(state.sessionmaker) as lookup:
        found = await UserRepository(lookup).get_by_username(username)
    # Verify even for unknown and SSO-only users so the response time does not tell them apart.
    password_ok = await verify_password_async(found.password_hash if found else None, password)
    if found is None or not password_ok or not found.is_active:
        if found is None:
            reason = "unknown_user"
        elif found.password_hash is None:
            reason = "no_password"
        else:
            reason = "bad_password" if not password_ok else "disabled"
        await throttle.record_failure(state.sessionmaker, state.settings, username, client_ip)
        await audit.record_detached(
            state.sessionmaker,
            "auth.login",
            actor_id=found.id if found else None,
            actor_name=username[:100],
            target_type="user",
            target_id=found.id if found else None,
            outcome="failure",
            client_ip=client_ip,
            details={"method": "password", "reason": reason},
        )
        raise NotAuthenticated(INVALID_CREDENTIALS, code="invalid_credentials")

    upgraded_hash = None
    if found.password_hash is not None and needs_rehash(found.password_hash):
        upgraded_hash = await hash_password_async(password)
    user = await UserRepository(db).get(found.id)
    if user is None or not user.is_active:  # deleted or disabled in the meantime
        raise NotAuthenticated(INVALID_CREDENTIALS, code="invalid_credentials")
    await throttle.record_success(db, state.settings, username, client_ip)
    if upgraded_hash is not None and user.password_hash == found.password_hash:
        user.password_hash = upgraded_hash
    user.last_login_at = utcnow()
    # Whatever session the browser carried before is dead now: a planted id never becomes authenticated.
    await revoke_session_cookie(db, previous_cookie)
    opened = await open_session(
        db, state.settings, user, auth_method="password", client_ip=client_ip, user_agent=user_agent
    )
    audit.record(
        db,
        "auth.login",
        actor_id=user.id,
        actor_name=user.username,
        target_type="user",
        target_id=user.id,
        client_ip=client_ip,
        details={"method": "password"},
    )
    return LoginResult(user=user, opened=opened)


async def logout(db: AsyncSession, principal: Principal, client_ip: str | None) -> None:
    if principal.session_id is not None:
        await SessionRepository(db).revoke(principal.session_id, utcnow())
    audit.record(
        db,
        "auth.logout",
        actor_id=principal.user.id,
        actor_name=principal.user.username,
        target_type="user",
        target_id=principal.user.id,
        client_ip=client_ip,
        details={"via": principal.via},
    )


async def change_password(
    db: AsyncSession,
    state: AppState,
    principal: Principal,
    *,
    current_password: str,
    new_password: str,
    client_ip: str | None,
) -> int:
    """Change the caller's own password; revokes every other session. Returns how many were revoked.

    The current password is checked against the caller snapshot before the request's transaction starts
    (a failure is recorded in its own transaction; see ``login``).
    """
    snapshot = principal.user
    # A stolen session must not be able to guess the current password at full speed either.
    await throttle.ensure_not_blocked(state.sessionmaker, snapshot.username, client_ip)
    if snapshot.password_hash is None:
        raise Forbidden("This account signs in with single sign-on and has no password", code="no_password")
    if not await verify_password_async(snapshot.password_hash, current_password):
        await throttle.record_failure(state.sessionmaker, state.settings, snapshot.username, client_ip)
        await audit.record_detached(
            state.sessionmaker,
            "auth.password_change",
            actor_id=snapshot.id,
            actor_name=snapshot.username,
            target_type="user",
            target_id=snapshot.id,
            outcome="failure",
            client_ip=client_ip,
            details={"reason": "bad_current_password"},
        )
        raise Forbidden("The current password is wrong", code="invalid_current_password")
    validate_password(new_password, snapshot.username)
    new_hash = await hash_password_async(new_password)
    user = await UserRepository(db).get(snapshot.id)
    if user is None or not user.is_active:
        raise NotAuthenticated()
    user.password_hash = new_hash
    user.password_changed_at = utcnow()
    revoked = await revoke_user_sessions(db, user.id, except_session_id=principal.session_id)
    audit.record(
        db,
        "auth.password_change",
        actor_id=user.id,
        actor_name=user.username,
        target_type="user",
        target_id=user.id,
        client_ip=client_ip,
        details={"sessions_revoked": revoked},
    )
    return revoked
