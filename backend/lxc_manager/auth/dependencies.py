"""Authentication dependencies. Every /api/v1 route except login/csrf/oidc depends on one of these aliases.

- ``CurrentPrincipal``: any authenticated caller (session cookie or ``Authorization: Bearer``).
- ``ReadPrincipal`` / ``WritePrincipal`` / ``AdminPrincipal``: the caller holds that scope; otherwise 403
  (and an audit row ``auth.denied``).

Cookie-authenticated unsafe methods (POST/PUT/PATCH/DELETE) must carry a valid ``X-CSRF-Token`` and must
not be marked cross-site by the browser (``Sec-Fetch-Site``/``Origin``). Bearer calls need neither.

The caller is resolved in a short transaction of its own, so long-lived responses (SSE) hold no
database transaction open; ``Principal.user`` is a detached snapshot (reload it to modify it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from lxc_manager.audit.service import record_detached
from lxc_manager.auth.csrf import check_csrf_token, check_same_origin, is_unsafe
from lxc_manager.auth.principal import Principal, Scope
from lxc_manager.auth.service import principal_from_session, principal_from_token
from lxc_manager.auth.sessions import read_session_cookie
from lxc_manager.core.deps import AppStateDep, client_ip
from lxc_manager.core.errors import CSRFFailed, Forbidden, NotAuthenticated
from lxc_manager.core.state import AppState

_BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_MAX_AUTHORIZATION_LENGTH = 512


def _bearer_credentials(request: Request) -> str | None:
    """The Bearer credentials, or None when there is no Authorization header or it uses another scheme
    (say, Basic auth added by a reverse proxy in front of us: then the session cookie decides)."""
    authorization = request.headers.get("authorization")
    if authorization is None:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    return credentials if scheme.lower() == "bearer" else None


async def _bearer_principal(request: Request, state: AppState, credentials: str) -> Principal:
    credentials = credentials.strip()
    if not credentials or len(credentials) > _MAX_AUTHORIZATION_LENGTH:
        raise NotAuthenticated(
            "Malformed Authorization header; use 'Bearer <api token>'",
            code="invalid_token",
            headers=_BEARER_CHALLENGE,
        )
    principal = await principal_from_token(state, credentials, client_ip(request))
    if principal is None:
        raise NotAuthenticated("Invalid, expired or revoked API token", code="invalid_token", headers=_BEARER_CHALLENGE)
    return principal


async def _audit_csrf_failure(request: Request, state: AppState, principal: Principal, reason: str) -> None:
    await record_detached(
        state.sessionmaker,
        "auth.csrf_failed",
        actor_id=principal.user.id,
        actor_name=principal.user.username,
        outcome="denied",
        client_ip=client_ip(request),
        details={"method": request.method, "path": request.url.path, "reason": reason},
    )


async def get_current_principal(request: Request, state: AppStateDep) -> Principal:
    """Resolve the caller from the session cookie or a Bearer API token; 401 otherwise."""
    credentials = _bearer_credentials(request)
    if credentials is not None:
        return await _bearer_principal(request, state, credentials)
    cookie = read_session_cookie(request, state.settings)
    resolved = await principal_from_session(state, cookie) if cookie else None
    if resolved is None:
        raise NotAuthenticated(
            "Not signed in or the session has expired" if cookie else None, headers=_BEARER_CHALLENGE
        )
    if is_unsafe(request):
        try:
            check_same_origin(request, state.settings)
            check_csrf_token(request, resolved.csrf_token)
        except CSRFFailed as exc:
            await _audit_csrf_failure(request, state, resolved.principal, exc.detail)
            raise
    return resolved.principal


CurrentPrincipal = Annotated[Principal, Depends(get_current_principal)]


def require_scope(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    async def dependency(request: Request, state: AppStateDep, principal: CurrentPrincipal) -> Principal:
        if principal.has(scope):
            return principal
        await record_detached(
            state.sessionmaker,
            "auth.denied",
            actor_id=principal.user.id,
            actor_name=principal.user.username,
            outcome="denied",
            client_ip=client_ip(request),
            details={"scope": scope.value, "method": request.method, "path": request.url.path, "via": principal.via},
        )
        raise Forbidden(f"This needs the '{scope.value}' scope, which you do not have")

    dependency.__name__ = f"require_{scope.value}_scope"
    # Lets tests (authorization matrix) read which scope a route needs from its dependency tree.
    dependency.required_scope = scope  # type: ignore[attr-defined]
    return dependency


async def require_same_origin(request: Request, state: AppStateDep) -> None:
    """For unauthenticated unsafe endpoints (login, SSO callbacks posted by forms): refuse cross-site requests."""
    check_same_origin(request, state.settings)


SameOriginOnly = Annotated[None, Depends(require_same_origin)]


ReadPrincipal = Annotated[Principal, Depends(require_scope(Scope.read))]
WritePrincipal = Annotated[Principal, Depends(require_scope(Scope.write))]
AdminPrincipal = Annotated[Principal, Depends(require_scope(Scope.admin))]
