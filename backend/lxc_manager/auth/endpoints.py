"""/api/v1/auth: password login, logout, the current caller, the CSRF token, password change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from lxc_manager.auth import service
from lxc_manager.auth.dependencies import CurrentPrincipal, SameOriginOnly
from lxc_manager.auth.principal import Scope
from lxc_manager.auth.schemas import CSRFResponse, LoginRequest, LoginResponse, MeResponse, PasswordChange
from lxc_manager.auth.sessions import clear_session_cookie, read_session_cookie, set_session_cookie
from lxc_manager.core.deps import AppStateDep, DBSession, client_ip
from lxc_manager.core.errors import AppError, BadRequest, NotAuthenticated, responses
from lxc_manager.users.schemas import UserOut

router = APIRouter(prefix="/auth", tags=["auth"])


class UnsupportedMediaType(AppError):
    status_code = 415
    code = "unsupported_media_type"
    default_detail = "Send the body as application/json"


def require_json_body(request: Request) -> None:
    """Refuse form and text/plain posts: those are what a cross-site HTML form can send without preflight."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType()


JSONOnly = Annotated[None, Depends(require_json_body)]


@router.post(
    "/login",
    operation_id="login",
    response_model=LoginResponse,
    responses=responses(401, 403, 415, 422, 429),
)
async def login(
    body: LoginRequest,
    _: JSONOnly,
    __: SameOriginOnly,
    request: Request,
    response: Response,
    state: AppStateDep,
    db: DBSession,
) -> LoginResponse:
    """Sign in with a username and password. Sets the session cookie and returns the CSRF token."""
    result = await service.login(
        db,
        state,
        username=body.username,
        password=body.password,
        client_ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        previous_cookie=read_session_cookie(request, state.settings),
    )
    set_session_cookie(response, request, state.settings, result.opened.cookie_value)
    response.headers["Cache-Control"] = "no-store"
    return LoginResponse(user=UserOut.from_row(result.user), csrf_token=result.opened.csrf_token)


@router.post(
    "/logout",
    operation_id="logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(401, 403),
)
async def logout(principal: CurrentPrincipal, request: Request, state: AppStateDep, db: DBSession) -> Response:
    """End the current session and clear its cookie (a Bearer caller just gets 204: tokens are revoked via /tokens)."""
    await service.logout(db, principal, client_ip(request))
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response, request, state.settings)
    return response


@router.get("/me", operation_id="get_me", response_model=MeResponse, responses=responses(401))
async def get_me(principal: CurrentPrincipal) -> MeResponse:
    """Who is calling, with which role and effective scopes, and how (session or token)."""
    return MeResponse(
        user=UserOut.from_row(principal.user),
        role=principal.role,
        scopes=[scope for scope in Scope if scope in principal.scopes],
        via=principal.via,
    )


@router.get("/csrf", operation_id="get_csrf_token", response_model=CSRFResponse, responses=responses(400, 401))
async def get_csrf_token(request: Request, response: Response, state: AppStateDep) -> CSRFResponse:
    """The CSRF token of the current session (send it as X-CSRF-Token on writes)."""
    cookie = read_session_cookie(request, state.settings)
    if request.headers.get("authorization", "").lower().startswith("bearer") and cookie is None:
        raise BadRequest("API token calls need no CSRF token", code="no_session")
    resolved = await service.principal_from_session(state, cookie) if cookie else None
    if resolved is None:
        raise NotAuthenticated("Not signed in or the session has expired")
    response.headers["Cache-Control"] = "no-store"
    return CSRFResponse(csrf_token=resolved.csrf_token)


@router.post(
    "/password",
    operation_id="change_password",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(401, 403, 415, 422, 429),
)
async def change_password(
    principal: CurrentPrincipal,
    body: PasswordChange,
    _: JSONOnly,
    request: Request,
    state: AppStateDep,
    db: DBSession,
) -> Response:
    """Change your own password. Every other session of yours is signed out."""
    await service.change_password(
        db,
        state,
        principal,
        current_password=body.current_password,
        new_password=body.new_password,
        client_ip=client_ip(request),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
