"""/api/v1/auth/providers, /api/v1/auth/oidc/{login,callback} and admin-managed SSO links of users."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from lxc_manager.auth import oidc
from lxc_manager.auth.dependencies import AdminPrincipal
from lxc_manager.auth.oidc_schemas import AuthProviders, OIDCLinkCreate, OIDCLinkOut, OIDCProviderInfo
from lxc_manager.auth.sessions import is_secure_request, read_session_cookie, set_session_cookie
from lxc_manager.core.deps import AppStateDep, DBSession, SettingsDep, client_ip
from lxc_manager.core.errors import responses

router = APIRouter(tags=["auth"])

UserId = Annotated[str, Path(min_length=1, max_length=36)]


def _redirect(description: str) -> dict[int | str, dict[str, Any]]:
    return {302: {"description": description, "headers": {"Location": {"schema": {"type": "string"}}}}}


@router.get("/auth/providers", operation_id="get_auth_providers", response_model=AuthProviders)
async def get_auth_providers(settings: SettingsDep) -> AuthProviders:
    """Which sign-in methods exist (public): the SPA shows an SSO button when ``oidc.enabled``."""
    return AuthProviders(
        password=True,
        oidc=OIDCProviderInfo(
            enabled=settings.oidc_enabled,
            display_name=settings.oidc_display_name,
            login_url=oidc.LOGIN_PATH if settings.oidc_enabled else None,
        ),
    )


@router.get(
    "/auth/oidc/login",
    operation_id="oidc_login",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
    responses={**_redirect("To the identity provider's sign-in page"), **responses(404, 502, 503)},
)
async def oidc_login(
    request: Request,
    db: DBSession,
    settings: SettingsDep,
    next_path: Annotated[
        str | None, Query(alias="next", max_length=2000, description="Same-site path to return to after sign-in")
    ] = None,
) -> RedirectResponse:
    """Start single sign-on (public): redirects the browser to the identity provider."""
    start = await oidc.start_login(
        db,
        settings,
        request_base_url=str(request.base_url),
        next_path=next_path,
        current_binding=request.cookies.get(oidc.BINDING_COOKIE),
    )
    response = RedirectResponse(start.authorization_url, status_code=status.HTTP_302_FOUND)
    response.set_cookie(
        oidc.BINDING_COOKIE,
        start.binding,
        max_age=int(oidc.LOGIN_STATE_TTL.total_seconds()),
        path=oidc.OIDC_PATH,
        secure=is_secure_request(request, settings),
        httponly=True,
        samesite="lax",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(
    "/auth/oidc/callback",
    operation_id="oidc_callback",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
    responses={**_redirect("Signed in: to the 'next' path"), **responses(400, 403, 404, 502, 503)},
)
async def oidc_callback(
    request: Request,
    db: DBSession,
    app_state: AppStateDep,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
    error_description: Annotated[str | None, Query(max_length=2000)] = None,
) -> RedirectResponse:
    """Where the identity provider sends the browser back (public). Opens a session and redirects to ``next``."""
    settings = app_state.settings
    completed = await oidc.complete_login(
        db,
        app_state.sessionmaker,
        settings,
        state=state,
        code=code,
        error=error,
        error_description=error_description,
        binding_cookie=request.cookies.get(oidc.BINDING_COOKIE),
        request_base_url=str(request.base_url),
        client_ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        previous_cookie=read_session_cookie(request, settings),
    )
    response = RedirectResponse(completed.redirect_to, status_code=status.HTTP_302_FOUND)
    # The binding cookie stays until it expires: a sign-in started in another tab may still be finishing.
    set_session_cookie(response, request, settings, completed.opened.cookie_value)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(
    "/users/{user_id}/oidc-links",
    operation_id="list_user_oidc_links",
    tags=["users"],
    response_model=list[OIDCLinkOut],
    responses=responses(401, 403, 404),
)
async def list_user_oidc_links(user_id: UserId, _: AdminPrincipal, db: DBSession) -> list[OIDCLinkOut]:
    """The SSO identities linked to a user (admin)."""
    return [OIDCLinkOut.model_validate(row) for row in await oidc.list_links(db, user_id)]


@router.post(
    "/users/{user_id}/oidc-links",
    operation_id="create_user_oidc_link",
    tags=["users"],
    status_code=status.HTTP_201_CREATED,
    response_model=OIDCLinkOut,
    responses=responses(400, 401, 403, 404, 409),
)
async def create_user_oidc_link(
    user_id: UserId,
    body: OIDCLinkCreate,
    principal: AdminPrincipal,
    request: Request,
    db: DBSession,
    settings: SettingsDep,
) -> OIDCLinkOut:
    """Link an SSO identity (issuer + subject) to a user, so that person can sign in with SSO (admin)."""
    row = await oidc.create_link(
        db,
        settings,
        user_id=user_id,
        subject=body.subject,
        issuer=body.issuer,
        actor_id=principal.user.id,
        actor_name=principal.user.username,
        client_ip=client_ip(request),
    )
    return OIDCLinkOut.model_validate(row)


@router.delete(
    "/users/{user_id}/oidc-links/{link_id}",
    operation_id="delete_user_oidc_link",
    tags=["users"],
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(401, 403, 404),
)
async def delete_user_oidc_link(
    user_id: UserId,
    link_id: Annotated[str, Path(min_length=1, max_length=36)],
    principal: AdminPrincipal,
    request: Request,
    db: DBSession,
) -> Response:
    """Remove an SSO link; that identity can no longer sign in to this account (admin)."""
    await oidc.delete_link(
        db,
        user_id=user_id,
        link_id=link_id,
        actor_id=principal.user.id,
        actor_name=principal.user.username,
        client_ip=client_ip(request),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
