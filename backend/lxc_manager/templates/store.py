"""Turn a validated template into rows: a new template with revision 1, or the next revision of one."""

from __future__ import annotations

from typing import Any

from lxc_manager.core.errors import PreconditionFailed
from lxc_manager.core.models import new_id, utcnow
from lxc_manager.models import TemplateStatus
from lxc_manager.templates.loader import ParsedTemplate, encode_files
from lxc_manager.templates.repository import TemplateRepository


def manifest_json(parsed: ParsedTemplate) -> dict[str, Any]:
    return parsed.manifest.model_dump(mode="json", by_alias=True)


def index_values(parsed: ParsedTemplate) -> dict[str, Any]:
    """The denormalised catalogue columns of the current revision."""
    manifest = parsed.manifest
    return {
        "description": manifest.description,
        "tags": list(manifest.tags),
        "os_template": manifest.os.template,
        "content_hash": parsed.content_hash,
    }


def new_rows(
    parsed: ParsedTemplate, *, origin: str, folder: str | None, author: str | None, message: str | None
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows for a brand-new template: (template, revision 1, tags, bucket uses)."""
    template_id = new_id()
    now = utcnow()
    template = {
        "id": template_id,
        "name": parsed.name,
        "origin": origin,
        "folder": folder,
        "status": TemplateStatus.active.value,
        "current_revision": 1,
        "created_at": now,
        "updated_at": now,
        "archived_at": None,
        **index_values(parsed),
    }
    revision = {
        "id": new_id(),
        "template_id": template_id,
        "number": 1,
        "content_hash": parsed.content_hash,
        "manifest": manifest_json(parsed),
        "files": encode_files(parsed.files),
        "author": author,
        "message": message,
        "created_at": now,
    }
    tags = [{"template_id": template_id, "tag": tag} for tag in dict.fromkeys(parsed.manifest.tags)]
    buckets = [
        {"template_id": template_id, "bucket_name": name} for name in dict.fromkeys(parsed.manifest.packages.buckets)
    ]
    return template, revision, tags, buckets


async def create(
    repo: TemplateRepository,
    parsed: ParsedTemplate,
    *,
    origin: str,
    folder: str | None,
    author: str | None,
    message: str | None,
) -> str:
    template, revision, tags, buckets = new_rows(parsed, origin=origin, folder=folder, author=author, message=message)
    await repo.insert_many([template], [revision], tags, buckets)
    return str(template["id"])


async def append_revision(
    repo: TemplateRepository,
    template_id: str,
    expected_revision: int,
    parsed: ParsedTemplate,
    *,
    author: str | None,
    message: str | None,
    extra: dict[str, Any] | None = None,
) -> int:
    """Store revision ``expected + 1`` and make it current; 412 when another save got there first."""
    values = {**index_values(parsed), "status": TemplateStatus.active.value, "archived_at": None, **(extra or {})}
    if not await repo.advance(template_id, expected_revision, values):
        raise PreconditionFailed(f"template {parsed.name!r} changed since revision {expected_revision}; reload it")
    number = expected_revision + 1
    await repo.insert_many(
        [],
        [
            {
                "id": new_id(),
                "template_id": template_id,
                "number": number,
                "content_hash": parsed.content_hash,
                "manifest": manifest_json(parsed),
                "files": encode_files(parsed.files),
                "author": author,
                "message": message,
                "created_at": utcnow(),
            }
        ],
        [],
        [],
    )
    await repo.set_index(template_id, list(parsed.manifest.tags), list(parsed.manifest.packages.buckets))
    return number
