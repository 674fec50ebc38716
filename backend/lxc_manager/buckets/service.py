"""Package bucket CRUD. Buckets are files too: saved back to ``buckets/<name>.yaml`` when the folder is writable."""

from __future__ import annotations

import hashlib

import yaml
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.audit import service as audit
from lxc_manager.buckets.repository import BucketRepository
from lxc_manager.core.config import Settings
from lxc_manager.core.errors import Conflict, FieldError, NotFound, UnprocessableEntity
from lxc_manager.models import Bucket, TemplateOrigin
from lxc_manager.templates import disk
from lxc_manager.templates.format import BucketManifest
from lxc_manager.templates.repository import TemplateRepository
from lxc_manager.templates.service import Actor


def render_bucket_yaml(manifest: BucketManifest) -> str:
    return yaml.safe_dump(manifest.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=100)


def _manifest(name: str, description: str, packages: list[str]) -> BucketManifest:
    try:
        return BucketManifest(name=name, description=description, packages=packages)
    except ValidationError as exc:
        fields = [
            FieldError(loc=["body", *[str(p) for p in err["loc"]]], msg=err["msg"], type=err["type"])
            for err in exc.errors(include_url=False)
        ]
        raise UnprocessableEntity("; ".join(f.msg for f in fields[:3]), code="invalid_bucket", fields=fields) from None


def _record(session: AsyncSession, actor: Actor, action: str, name: str, **details: object) -> None:
    audit.record(
        session,
        action,
        actor_id=actor.id,
        actor_name=actor.name,
        target_type="bucket",
        target_id=name,
        client_ip=actor.ip,
        details=dict(details),
    )


async def get_bucket(session: AsyncSession, name: str) -> Bucket:
    bucket = await BucketRepository(session).get(name)
    if bucket is None:
        raise NotFound(f"bucket {name!r} not found")
    return bucket


async def templates_using(session: AsyncSession, name: str) -> list[str]:
    return await TemplateRepository(session).templates_using_bucket(name)


async def create_bucket(
    session: AsyncSession, settings: Settings, actor: Actor, name: str, description: str, packages: list[str]
) -> Bucket:
    manifest = _manifest(name, description, packages)
    repo = BucketRepository(session)
    if await repo.get(name) is not None:
        raise Conflict(f"a bucket named {name!r} already exists", code="bucket_exists")
    text = render_bucket_yaml(manifest)
    writable = disk.buckets_writable(settings)
    file_name = f"{name}.yaml"
    if writable and (settings.effective_buckets_dir / file_name).exists():
        raise Conflict(
            f"the buckets folder already holds {file_name} (a broken bucket?); fix or remove it", code="bucket_exists"
        )
    bucket = Bucket(
        name=name,
        description=manifest.description,
        packages=list(manifest.packages),
        origin=TemplateOrigin.dashboard.value,
        file=file_name if writable else None,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )
    repo.add(bucket)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent create of the same name committed first
        raise Conflict(f"a bucket named {name!r} already exists", code="bucket_exists") from None
    if writable:
        await disk.run(disk.write_bucket_file, settings.effective_buckets_dir, file_name, text)
    _record(session, actor, "bucket.create", name, packages=len(manifest.packages))
    return bucket


async def update_bucket(
    session: AsyncSession, settings: Settings, actor: Actor, name: str, description: str, packages: list[str]
) -> Bucket:
    bucket = await get_bucket(session, name)
    manifest = _manifest(name, description, packages)
    if bucket.file is not None:
        disk.require_buckets_writable(settings, f"cannot save bucket {name!r}")
    text = render_bucket_yaml(manifest)
    bucket.description = manifest.description
    bucket.packages = list(manifest.packages)
    bucket.content_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
    await session.flush()
    if bucket.file is not None:
        await disk.run(disk.write_bucket_file, settings.effective_buckets_dir, bucket.file, text)
    _record(session, actor, "bucket.update", name, packages=len(manifest.packages))
    return bucket


async def delete_bucket(session: AsyncSession, settings: Settings, actor: Actor, name: str) -> None:
    bucket = await get_bucket(session, name)
    users = await templates_using(session, name)
    if users:
        raise Conflict(f"bucket {name!r} is used by: {', '.join(users)}", code="bucket_in_use")
    if bucket.file is not None:
        disk.require_buckets_writable(settings, f"cannot delete bucket {name!r}")
    file_name = bucket.file
    await BucketRepository(session).delete(bucket)
    await session.flush()
    if file_name is not None:
        await disk.run(disk.remove_bucket_file, settings.effective_buckets_dir, file_name)
    _record(session, actor, "bucket.delete", name)
