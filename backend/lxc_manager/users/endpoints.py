"""/api/v1/users: account management (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from lxc_manager.auth.dependencies import AdminPrincipal
from lxc_manager.core.deps import DBSession, client_ip
from lxc_manager.core.errors import responses
from lxc_manager.models import Role
from lxc_manager.users import service
from lxc_manager.users.schemas import UserCreate, UserOut, UserPage, UserUpdate

router = APIRouter(prefix="/users", tags=["users"], responses=responses(401, 403))

UserID = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$", description="The user's id")]


@router.get("", operation_id="list_users", response_model=UserPage, responses=responses(422))
async def list_users(
    _: AdminPrincipal,
    db: DBSession,
    search: Annotated[
        str | None,
        Query(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$", description="Substring of username, name or e-mail"),
    ] = None,
    role: Role | None = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> UserPage:
    """Users, ordered by username."""
    rows, total = await service.list_users(db, search=search, role=role, active=active, limit=limit, offset=offset)
    return UserPage(items=[UserOut.from_row(u) for u in rows], total=total, limit=limit, offset=offset)


@router.post(
    "",
    operation_id="create_user",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(409, 422),
)
async def create_user(body: UserCreate, principal: AdminPrincipal, request: Request, db: DBSession) -> UserOut:
    """Create a local account (omit the password for an SSO-only account)."""
    return UserOut.from_row(await service.create_user(db, principal, body, client_ip(request)))


@router.get("/{user_id}", operation_id="get_user", response_model=UserOut, responses=responses(404, 422))
async def get_user(user_id: UserID, _: AdminPrincipal, db: DBSession) -> UserOut:
    return UserOut.from_row(await service.get_user(db, user_id))


@router.patch("/{user_id}", operation_id="update_user", response_model=UserOut, responses=responses(404, 409, 422))
async def update_user(
    user_id: UserID, body: UserUpdate, principal: AdminPrincipal, request: Request, db: DBSession
) -> UserOut:
    """Change role, active flag, profile, or reset the password. Disabling or resetting ends their sessions."""
    return UserOut.from_row(await service.update_user(db, principal, user_id, body, client_ip(request)))


@router.delete(
    "/{user_id}",
    operation_id="delete_user",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(404, 409, 422),
)
async def delete_user(user_id: UserID, principal: AdminPrincipal, request: Request, db: DBSession) -> Response:
    """Delete an account (not your own, not the last admin). Its sessions and tokens go with it."""
    await service.delete_user(db, principal, user_id, client_ip(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
