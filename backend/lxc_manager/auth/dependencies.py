"""Authentication dependencies. Every /api/v1 route except login/csrf/oidc depends on one of these aliases.

- ``CurrentPrincipal``: any authenticated caller (session cookie or ``Authorization: Bearer``).
- ``ReadPrincipal`` / ``WritePrincipal`` / ``AdminPrincipal``: the caller holds that scope; otherwise 403
  (and an audit row ``auth.denied``).

Cookie-authenticated unsafe methods (POST/PUT/PATCH/DELETE) must carry a valid ``X-CSRF-Token``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from lxc_manager.auth.principal import Principal, Scope
from lxc_manager.core.deps import AppStateDep


async def get_current_principal(request: Request, state: AppStateDep) -> Principal:
    """Resolve the caller from the session cookie or a Bearer API token; 401 otherwise."""
    raise NotImplementedError  # implemented by the auth module


CurrentPrincipal = Annotated[Principal, Depends(get_current_principal)]


def require_scope(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    async def dependency(request: Request, state: AppStateDep, principal: CurrentPrincipal) -> Principal:
        raise NotImplementedError  # implemented by the auth module

    return dependency


ReadPrincipal = Annotated[Principal, Depends(require_scope(Scope.read))]
WritePrincipal = Annotated[Principal, Depends(require_scope(Scope.write))]
AdminPrincipal = Annotated[Principal, Depends(require_scope(Scope.admin))]
