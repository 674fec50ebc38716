from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from lxc_manager.auth.dependencies import ReadPrincipal, WritePrincipal
from lxc_manager.auth.principal import Principal
from lxc_manager.buckets import service
from lxc_manager.buckets.repository import BucketRepository
from lxc_manager.buckets.schemas import (
    BucketCreate,
    BucketDetail,
    BucketOut,
    BucketPage,
    BucketTemplates,
    BucketUpdate,
)
from lxc_manager.core.deps import DBSession, SettingsDep, client_ip
from lxc_manager.core.errors import responses
from lxc_manager.models import Bucket
from lxc_manager.templates.format import SLUG_PATTERN
from lxc_manager.templates.service import Actor

router = APIRouter(prefix="/buckets", tags=["buckets"], responses=responses(401, 403))

BucketName = Annotated[str, Path(pattern=SLUG_PATTERN, description="Bucket name")]


def _actor(request: Request, principal: Principal) -> Actor:
    return Actor(id=principal.user.id, name=principal.user.username, ip=client_ip(request))


async def _detail(db: DBSession, bucket: Bucket) -> BucketDetail:
    templates = await service.templates_using(db, bucket.name)
    return BucketDetail(**BucketOut.model_validate(bucket).model_dump(), templates=templates)


@router.get("", operation_id="list_buckets", response_model=BucketPage)
async def list_buckets(
    _: ReadPrincipal,
    db: DBSession,
    q: Annotated[str | None, Query(max_length=200, description="Search name and description")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> BucketPage:
    """Package buckets by name."""
    rows, total = await BucketRepository(db).search(q=q, limit=limit, offset=offset)
    return BucketPage(items=[BucketOut.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)


@router.post(
    "",
    operation_id="create_bucket",
    response_model=BucketDetail,
    status_code=status.HTTP_201_CREATED,
    responses=responses(400, 409, 415, 422, 503),
)
async def create_bucket(
    request: Request, principal: WritePrincipal, db: DBSession, settings: SettingsDep, body: BucketCreate
) -> BucketDetail:
    """Create a bucket; written to the buckets folder when it is writable."""
    bucket = await service.create_bucket(
        db, settings, _actor(request, principal), body.name, body.description, list(body.packages)
    )
    return await _detail(db, bucket)


@router.get("/{name}", operation_id="get_bucket", response_model=BucketDetail, responses=responses(404))
async def get_bucket(_: ReadPrincipal, db: DBSession, name: BucketName) -> BucketDetail:
    """A bucket, its packages and the templates using it."""
    return await _detail(db, await service.get_bucket(db, name))


@router.put(
    "/{name}",
    operation_id="update_bucket",
    response_model=BucketDetail,
    responses=responses(400, 404, 409, 415, 422, 503),
)
async def update_bucket(
    request: Request,
    principal: WritePrincipal,
    db: DBSession,
    settings: SettingsDep,
    name: BucketName,
    body: BucketUpdate,
) -> BucketDetail:
    """Replace description and packages; 409 when its file is read-only."""
    bucket = await service.update_bucket(
        db, settings, _actor(request, principal), name, body.description, list(body.packages)
    )
    return await _detail(db, bucket)


@router.delete(
    "/{name}", operation_id="delete_bucket", status_code=status.HTTP_204_NO_CONTENT, responses=responses(404, 409, 503)
)
async def delete_bucket(
    request: Request, principal: WritePrincipal, db: DBSession, settings: SettingsDep, name: BucketName
) -> Response:
    """Delete a bucket; 409 naming the templates while any template uses it."""
    await service.delete_bucket(db, settings, _actor(request, principal), name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{name}/templates",
    operation_id="list_bucket_templates",
    response_model=BucketTemplates,
    responses=responses(404),
)
async def list_bucket_templates(_: ReadPrincipal, db: DBSession, name: BucketName) -> BucketTemplates:
    """Active templates whose current revision uses this bucket."""
    bucket = await service.get_bucket(db, name)
    return BucketTemplates(bucket=bucket.name, templates=await service.templates_using(db, bucket.name))
