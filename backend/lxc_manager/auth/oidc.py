"""OpenID Connect login: authorization code flow with state, nonce and PKCE S256.

- ``start_login`` stores state → (nonce, PKCE verifier, where to go next) in ``oidc_login_states``, bound to
  the browser by a random value whose hash is stored and whose plain value sits in a short-lived HttpOnly
  cookie. A state replayed from another browser (login CSRF, a leaked callback URL) therefore fails.
- ``complete_login`` consumes the state exactly once (in its own committed transaction, so even a failed
  callback burns it), exchanges the code, validates the ID token (``oidc_client``) and finds the account.

Accounts are linked strictly by (issuer, subject). E-mail and preferred_username are never used to find an
existing account: an IdP user who claims a local user's address (verified or not) gets a separate account
(auto-provisioning) or is refused (``sso_not_provisioned``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lxc_manager.audit import service as audit
from lxc_manager.auth.oidc_client import (
    IDTokenClaims,
    OIDCTokenInvalid,
    UnknownSigningKey,
    exchange_code,
    get_provider_metadata,
    get_signing_keys,
    validate_id_token,
)
from lxc_manager.auth.oidc_repository import OIDCRepository
from lxc_manager.auth.sessions import OpenedSession, open_session, revoke_session_cookie
from lxc_manager.core.config import Settings
from lxc_manager.core.db import unit_of_work
from lxc_manager.core.errors import AppError, BadRequest, Conflict, Forbidden, NotFound
from lxc_manager.core.logging import get_logger
from lxc_manager.core.models import new_id, utcnow
from lxc_manager.models import OIDCIdentity, OIDCLoginState, User

log = get_logger(__name__)

LOGIN_STATE_TTL = timedelta(minutes=10)
BINDING_COOKIE = "lxcm_oidc_binding"
OIDC_PATH = "/api/v1/auth/oidc"
LOGIN_PATH = f"{OIDC_PATH}/login"
CALLBACK_PATH = f"{OIDC_PATH}/callback"
_MAX_NEXT_LENGTH = 500
_MAX_BINDING_LENGTH = 128
_BINDING_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)
_USERNAME_JUNK = re.compile(r"[^a-z0-9._-]+")
_USERNAME_MAX = 48  # leaves room for a "-<n>" suffix within the 64-character column


class OIDCNotConfigured(NotFound):
    code: ClassVar[str] = "oidc_not_configured"
    default_detail: ClassVar[str] = "Single sign-on is not configured (set LXCM_OIDC_ISSUER and LXCM_OIDC_CLIENT_ID)"


class OIDCStateInvalid(BadRequest):
    code: ClassVar[str] = "oidc_state_invalid"
    default_detail: ClassVar[str] = (
        "This sign-in link is unknown, expired, already used or was started in another browser; start the sign-in again"
    )


class OIDCLoginRefused(BadRequest):
    code: ClassVar[str] = "oidc_login_refused"
    default_detail: ClassVar[str] = "The identity provider did not sign you in"


class SSONotProvisioned(Forbidden):
    code: ClassVar[str] = "sso_not_provisioned"
    default_detail: ClassVar[str] = (
        "Your single sign-on identity is not linked to an account here. Ask an administrator to link it "
        "to your account or to enable automatic account creation (LXCM_OIDC_AUTO_PROVISION)."
    )


class SSOAccountDisabled(Forbidden):
    code: ClassVar[str] = "account_disabled"
    default_detail: ClassVar[str] = "This account is disabled; ask an administrator"


@dataclass(frozen=True)
class LoginStart:
    authorization_url: str
    binding: str  # plain browser-binding value for the cookie; only its hash is stored


@dataclass(frozen=True)
class CompletedLogin:
    user: User
    opened: OpenedSession  # the new server-side session; the caller sets its cookie
    redirect_to: str
    provisioned: bool


def require_oidc(settings: Settings) -> tuple[str, str]:
    if not settings.oidc_issuer or not settings.oidc_client_id:
        raise OIDCNotConfigured()
    return settings.oidc_issuer, settings.oidc_client_id


def safe_next_path(value: str | None) -> str:
    """A same-site relative path, or ``/``. Refuses absolute and scheme-relative URLs (``//evil``, ``/\\evil``)."""
    if not value or len(value) > _MAX_NEXT_LENGTH or not value.startswith("/"):
        return "/"
    if value.startswith(("//", "/\\")) or "\\" in value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def callback_url(settings: Settings, request_base_url: str) -> str:
    """The redirect URI registered at the IdP. ``public_url`` wins; the request's own base URL is the fallback."""
    return (settings.public_url or request_base_url).rstrip("/") + CALLBACK_PATH


def hash_binding(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _scopes(settings: Settings) -> str:
    scopes = settings.oidc_scopes.split()
    if "openid" not in scopes:
        scopes.insert(0, "openid")
    return " ".join(dict.fromkeys(scopes))


async def start_login(
    db: AsyncSession,
    settings: Settings,
    *,
    request_base_url: str,
    next_path: str | None,
    current_binding: str | None = None,
) -> LoginStart:
    """Store a pending login and build the IdP URL. A browser that already holds a well-formed binding cookie
    keeps it, so sign-ins started in two tabs can both finish."""
    issuer, client_id = require_oidc(settings)
    metadata = await get_provider_metadata(issuer)
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    code_verifier = secrets.token_urlsafe(64)  # 86 characters, within RFC 7636's 43..128
    binding = current_binding if current_binding and _BINDING_RE.match(current_binding) else secrets.token_urlsafe(32)
    now = utcnow()
    repo = OIDCRepository(db)
    await repo.purge_login_states(now - LOGIN_STATE_TTL)
    repo.add(
        OIDCLoginState(
            state=state,
            browser_binding=hash_binding(binding),
            nonce=nonce,
            code_verifier=code_verifier,
            redirect_to=safe_next_path(next_path),
            created_at=now,
        )
    )
    await db.flush()
    url = prepare_grant_uri(
        metadata.authorization_endpoint,
        client_id=client_id,
        response_type="code",
        redirect_uri=callback_url(settings, request_base_url),
        scope=_scopes(settings),
        state=state,
        nonce=nonce,
        code_challenge=create_s256_code_challenge(code_verifier),
        code_challenge_method="S256",
    )
    return LoginStart(authorization_url=url, binding=binding)


async def complete_login(
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    state: str | None,
    code: str | None,
    error: str | None,
    error_description: str | None,
    binding_cookie: str | None,
    request_base_url: str,
    client_ip: str | None,
    user_agent: str | None,
    previous_cookie: str | None,
) -> CompletedLogin:
    """Finish the login: a new session for the linked (or newly provisioned) active user, and where to go next.

    Every refusal is audited (``auth.oidc_login``, outcome failure) in its own transaction.
    """
    context: dict[str, Any] = {}
    try:
        return await _complete_login(
            db,
            sessionmaker,
            settings,
            state=state,
            code=code,
            error=error,
            error_description=error_description,
            binding_cookie=binding_cookie,
            request_base_url=request_base_url,
            client_ip=client_ip,
            user_agent=user_agent,
            previous_cookie=previous_cookie,
            context=context,
        )
    except AppError as exc:
        # Written once the request's unit of work has rolled back (record_detached defers inside one).
        await audit.record_detached(
            sessionmaker,
            "auth.oidc_login",
            outcome="failure",
            actor_id=context.get("user_id"),
            actor_name=context.get("username"),
            client_ip=client_ip,
            details={"reason": exc.error_code, "message": exc.detail[:300], **context},
        )
        raise


async def _complete_login(
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    state: str | None,
    code: str | None,
    error: str | None,
    error_description: str | None,
    binding_cookie: str | None,
    request_base_url: str,
    client_ip: str | None,
    user_agent: str | None,
    previous_cookie: str | None,
    context: dict[str, Any],
) -> CompletedLogin:
    issuer, client_id = require_oidc(settings)
    context["issuer"] = issuer
    pending = await _take_login_state(sessionmaker, state, binding_cookie)
    if error:
        # The IdP's free text is shown only for a flow this browser started: a crafted link must not be able
        # to put arbitrary words in our mouth.
        raise OIDCLoginRefused(_describe_idp_error(error, error_description if pending else None))
    if pending is None:
        raise OIDCStateInvalid()
    if pending.created_at + LOGIN_STATE_TTL < utcnow():
        raise OIDCStateInvalid("This sign-in took longer than 10 minutes; start the sign-in again")
    if not code:
        raise BadRequest("The identity provider sent no authorization code", code="oidc_code_missing")

    metadata = await get_provider_metadata(issuer)
    id_token = await exchange_code(
        metadata,
        client_id=client_id,
        client_secret=settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None,
        code=code,
        redirect_uri=callback_url(settings, request_base_url),
        code_verifier=pending.code_verifier,
    )
    keys = await get_signing_keys(metadata)
    try:
        claims = validate_id_token(id_token, keys, metadata, client_id=client_id, nonce=pending.nonce)
    except UnknownSigningKey:
        # The provider may have rotated its keys since we cached them.
        keys = await get_signing_keys(metadata, refresh=True)
        try:
            claims = validate_id_token(id_token, keys, metadata, client_id=client_id, nonce=pending.nonce)
        except UnknownSigningKey as exc:
            raise OIDCTokenInvalid("The ID token is signed with a key the provider does not publish") from exc
    context["subject"] = claims.subject

    user, provisioned = await _find_or_provision_user(db, settings, claims)
    context.update(user_id=user.id, username=user.username)
    if not user.is_active:
        raise SSOAccountDisabled()
    now = utcnow()
    user.last_login_at = now
    await _touch_identity(db, claims, now)
    # Whatever session the browser carried before is dead now: a planted id never becomes authenticated.
    await revoke_session_cookie(db, previous_cookie)
    opened = await open_session(db, settings, user, auth_method="oidc", client_ip=client_ip, user_agent=user_agent)
    audit.record(
        db,
        "auth.oidc_login",
        actor_id=user.id,
        actor_name=user.username,
        target_type="user",
        target_id=user.id,
        client_ip=client_ip,
        details={"issuer": issuer, "subject": claims.subject, "provisioned": provisioned},
    )
    await db.flush()
    return CompletedLogin(
        user=user, opened=opened, redirect_to=safe_next_path(pending.redirect_to), provisioned=provisioned
    )


async def _take_login_state(
    sessionmaker: async_sessionmaker[AsyncSession], state: str | None, binding_cookie: str | None
) -> OIDCLoginState | None:
    """Consume the pending login in a transaction of its own, so it is gone even if this callback fails."""
    if not state or not binding_cookie or len(binding_cookie) > _MAX_BINDING_LENGTH or len(state) > 128:
        return None
    async with unit_of_work(sessionmaker) as session:
        return await OIDCRepository(session).take_login_state(state, hash_binding(binding_cookie))


def _describe_idp_error(error: str, description: str | None) -> str:
    code = "".join(c for c in error[:64] if c.isalnum() or c in "_.-") or "error"
    text = f"The identity provider did not sign you in ({code})"
    if description:
        clean = "".join(c for c in description[:200] if c.isprintable())
        if clean:
            text += f": {clean}"
    return text


async def _find_or_provision_user(db: AsyncSession, settings: Settings, claims: IDTokenClaims) -> tuple[User, bool]:
    repo = OIDCRepository(db)
    identity = await repo.get_identity(claims.issuer, claims.subject)
    if identity is not None:
        user = await repo.get_user(identity.user_id)
        if user is not None:
            return user, False
    if not settings.oidc_auto_provision:
        raise SSONotProvisioned()
    return await _provision_user(db, settings, claims), True


async def _provision_user(db: AsyncSession, settings: Settings, claims: IDTokenClaims) -> User:
    """A new SSO-only account (no password) with the default role and a unique username.

    A concurrent first login of the same identity (or a username race) trips a unique constraint inside the
    savepoint; we then retry with the next name or return the account the other request created.
    """
    repo = OIDCRepository(db)
    base = derive_username(claims)
    for attempt in range(1, 31):
        candidate = base if attempt == 1 else f"{base}-{attempt}" if attempt <= 20 else f"{base}-{secrets.token_hex(3)}"
        if await repo.username_taken(candidate):
            continue
        user = User(
            id=new_id(),
            username=candidate,
            display_name=claims.name,
            email=claims.email,
            password_hash=None,
            role=settings.oidc_default_role,
            is_active=True,
        )
        identity = OIDCIdentity(user_id=user.id, issuer=claims.issuer, subject=claims.subject, email=claims.email)
        try:
            async with db.begin_nested():
                repo.add(user)
                await db.flush()
                repo.add(identity)
                await db.flush()
        except IntegrityError:
            raced = await repo.get_identity(claims.issuer, claims.subject)
            if raced is not None:
                existing = await repo.get_user(raced.user_id)
                if existing is not None:
                    return existing
            continue
        audit.record(
            db,
            "user.create",
            actor_id=user.id,
            actor_name=user.username,
            target_type="user",
            target_id=user.id,
            details={"via": "oidc", "role": user.role, "issuer": claims.issuer, "subject": claims.subject},
        )
        log.info("oidc_user_provisioned", user_id=user.id, role=user.role)
        return user
    raise AppError("Could not find a free username for the new account")


async def _touch_identity(db: AsyncSession, claims: IDTokenClaims, now: Any) -> None:
    identity = await OIDCRepository(db).get_identity(claims.issuer, claims.subject)
    if identity is not None:
        identity.last_login_at = now
        identity.email = claims.email


def derive_username(claims: IDTokenClaims) -> str:
    """A readable username from preferred_username, the e-mail's local part or the name (ASCII, lowercase)."""
    sources = (claims.preferred_username, claims.email.split("@", 1)[0] if claims.email else None, claims.name)
    for source in sources:
        if not source:
            continue
        ascii_text = unicodedata.normalize("NFKD", source).encode("ascii", "ignore").decode("ascii").lower()
        candidate = _USERNAME_JUNK.sub("-", ascii_text).strip("-._")[:_USERNAME_MAX].strip("-._")
        if candidate:
            return candidate
    return "sso-user"


# --- admin-managed links ------------------------------------------------------------------------------


async def list_links(db: AsyncSession, user_id: str) -> list[OIDCIdentity]:
    repo = OIDCRepository(db)
    if await repo.get_user(user_id) is None:
        raise NotFound("User not found")
    return list(await repo.list_identities(user_id))


async def create_link(
    db: AsyncSession,
    settings: Settings,
    *,
    user_id: str,
    subject: str,
    issuer: str | None,
    actor_id: str,
    actor_name: str,
    client_ip: str | None,
) -> OIDCIdentity:
    """Link an SSO identity (issuer, subject) to an existing account, e.g. before its first SSO login."""
    repo = OIDCRepository(db)
    user = await repo.get_user(user_id)
    if user is None:
        raise NotFound("User not found")
    issuer = issuer or settings.oidc_issuer
    if not issuer:
        raise BadRequest("Give the issuer: single sign-on is not configured, so there is no default")
    if await repo.get_identity(issuer, subject) is not None:
        raise Conflict("This SSO identity is already linked to an account; unlink it there first")
    identity = OIDCIdentity(user_id=user.id, issuer=issuer, subject=subject)
    try:
        async with db.begin_nested():
            repo.add(identity)
            await db.flush()
    except IntegrityError as exc:
        raise Conflict("This SSO identity is already linked to an account") from exc
    audit.record(
        db,
        "user.oidc_link.create",
        actor_id=actor_id,
        actor_name=actor_name,
        target_type="user",
        target_id=user.id,
        client_ip=client_ip,
        details={"issuer": issuer, "subject": subject, "link_id": identity.id},
    )
    return identity


async def delete_link(
    db: AsyncSession, *, user_id: str, link_id: str, actor_id: str, actor_name: str, client_ip: str | None
) -> None:
    repo = OIDCRepository(db)
    identity = await repo.get_identity_of_user(user_id, link_id)
    if identity is None:
        raise NotFound("SSO link not found")
    await repo.delete_identity(identity)
    audit.record(
        db,
        "user.oidc_link.delete",
        actor_id=actor_id,
        actor_name=actor_name,
        target_type="user",
        target_id=user_id,
        client_ip=client_ip,
        details={"issuer": identity.issuer, "subject": identity.subject, "link_id": identity.id},
    )
    await db.flush()
