"""Server-side login sessions and their cookie.

The cookie holds 256 random bits; the database keeps only their SHA-256 (``user_sessions.id``), so a
database leak yields no usable session. A new id is issued at every login (no fixation). Sessions end
at logout, password change, when the user is disabled, after ``session_idle_timeout_s`` without use and
``session_absolute_timeout_s`` after login.

Over https the cookie is named ``__Host-<name>``: browsers then insist on Secure, Path=/ and no Domain,
so a sibling subdomain cannot plant or shadow it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.auth.repository import SessionRepository
from lxc_manager.core.config import Settings
from lxc_manager.core.models import utcnow
from lxc_manager.models import User, UserSession

# last_seen_at is written at most this often, so busy clients do not turn every read into a write.
TOUCH_INTERVAL = timedelta(minutes=1)
HOST_PREFIX = "__Host-"
_MAX_COOKIE_LENGTH = 128


def hash_session_id(cookie_value: str) -> str:
    return hashlib.sha256(cookie_value.encode("utf-8")).hexdigest()


def is_secure_request(request: Request, settings: Settings) -> bool:
    """Whether the session cookie gets ``Secure``: forced by settings, else when the request came over https."""
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    if request.url.scheme == "https":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return forwarded == "https"


def cookie_name(settings: Settings, secure: bool) -> str:
    return f"{HOST_PREFIX}{settings.session_cookie_name}" if secure else settings.session_cookie_name


def read_session_cookie(request: Request, settings: Settings) -> str | None:
    """The raw session cookie value; the un-prefixed name is only honoured over plain http."""
    value = request.cookies.get(cookie_name(settings, True))
    if not value and not is_secure_request(request, settings):
        value = request.cookies.get(cookie_name(settings, False))
    if not value or len(value) > _MAX_COOKIE_LENGTH:
        return None
    return value


def set_session_cookie(response: Response, request: Request, settings: Settings, cookie_value: str) -> None:
    secure = is_secure_request(request, settings)
    response.set_cookie(
        cookie_name(settings, secure),
        cookie_value,
        max_age=settings.session_absolute_timeout_s,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, request: Request, settings: Settings) -> None:
    secure = is_secure_request(request, settings)
    response.delete_cookie(cookie_name(settings, secure), path="/", secure=secure, httponly=True, samesite="lax")


@dataclass(frozen=True)
class OpenedSession:
    cookie_value: str  # goes to the browser only; never stored or logged
    csrf_token: str
    session: UserSession


async def open_session(
    db: AsyncSession,
    settings: Settings,
    user: User,
    *,
    auth_method: str,
    client_ip: str | None,
    user_agent: str | None,
) -> OpenedSession:
    """Create a fresh session for ``user`` (flush only). Callers set the cookie with ``set_session_cookie``."""
    now = utcnow()
    cookie_value = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    row = UserSession(
        id=hash_session_id(cookie_value),
        user_id=user.id,
        csrf_token=csrf_token,
        auth_method=auth_method,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=settings.session_absolute_timeout_s),
        client_ip=client_ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    repo = SessionRepository(db)
    repo.add(row)
    # Housekeeping: sessions past their absolute lifetime are useless; drop them while we are writing anyway.
    await repo.purge_expired(now - timedelta(days=1))
    await db.flush()
    return OpenedSession(cookie_value=cookie_value, csrf_token=csrf_token, session=row)


def session_is_live(row: UserSession, settings: Settings, now: datetime) -> bool:
    if row.revoked_at is not None or row.expires_at <= now:
        return False
    return row.last_seen_at + timedelta(seconds=settings.session_idle_timeout_s) > now


async def revoke_session_cookie(db: AsyncSession, cookie_value: str | None) -> None:
    """Revoke the session a (possibly stale) cookie points at; no-op when there is none."""
    if cookie_value:
        await SessionRepository(db).revoke(hash_session_id(cookie_value), utcnow())


async def revoke_user_sessions(db: AsyncSession, user_id: str, *, except_session_id: str | None = None) -> int:
    return await SessionRepository(db).revoke_all_for_user(user_id, utcnow(), except_id=except_session_id)
