"""/api/v1/tokens: personal API tokens (Bearer). The plaintext is returned once, at creation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from lxc_manager.auth.dependencies import CurrentPrincipal, ReadPrincipal
from lxc_manager.core.deps import DBSession, client_ip
from lxc_manager.core.errors import responses
from lxc_manager.tokens import service
from lxc_manager.tokens.schemas import TokenCreate, TokenCreated, TokenOut, TokenPage

router = APIRouter(prefix="/tokens", tags=["tokens"], responses=responses(401, 403))

TokenID = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$", description="The token's id (not the token)")
]


@router.get("", operation_id="list_tokens", response_model=TokenPage, responses=responses(422))
async def list_tokens(
    principal: ReadPrincipal,
    db: DBSession,
    user_id: Annotated[
        str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9-]+$", description="Another user's tokens (admin)")
    ] = None,
    all_users: Annotated[bool, Query(alias="all", description="Every user's tokens (admin)")] = False,
    include_revoked: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> TokenPage:
    """Your tokens, newest first; admins may ask for a user's (``user_id``) or everyone's (``all=true``)."""
    rows, total = await service.list_tokens(
        db,
        principal,
        user_id=user_id,
        all_users=all_users,
        include_revoked=include_revoked,
        limit=limit,
        offset=offset,
    )
    return TokenPage(items=[TokenOut.from_row(r) for r in rows], total=total, limit=limit, offset=offset)


@router.post(
    "",
    operation_id="create_token",
    response_model=TokenCreated,
    status_code=status.HTTP_201_CREATED,
    responses=responses(422),
)
async def create_token(
    body: TokenCreate, principal: CurrentPrincipal, request: Request, response: Response, db: DBSession
) -> TokenCreated:
    """Create a token with a subset of your scopes. The token is in this response only: store it now."""
    row, plaintext = await service.create(db, principal, body, client_ip(request))
    response.headers["Cache-Control"] = "no-store"
    return TokenCreated(**TokenOut.from_row(row).model_dump(), token=plaintext)


@router.get("/{token_id}", operation_id="get_token", response_model=TokenOut, responses=responses(404, 422))
async def get_token(token_id: TokenID, principal: ReadPrincipal, db: DBSession) -> TokenOut:
    return TokenOut.from_row(await service.get_visible(db, principal, token_id))


@router.delete(
    "/{token_id}",
    operation_id="revoke_token",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(404, 422),
)
async def revoke_token(token_id: TokenID, principal: CurrentPrincipal, request: Request, db: DBSession) -> Response:
    """Revoke a token (yours, or anyone's for admins). It stops working immediately."""
    await service.revoke(db, principal, token_id, client_ip(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
