"""Read side of the catalogue: list, detail (with resolved packages), revisions, diffs, resolution for deployments."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.buckets.repository import BucketRepository
from lxc_manager.core.config import Settings
from lxc_manager.core.errors import NotFound
from lxc_manager.models import Template, TemplateRevision
from lxc_manager.templates import disk
from lxc_manager.templates.format import TemplateManifest
from lxc_manager.templates.loader import MANIFEST, README
from lxc_manager.templates.repository import TemplateRepository
from lxc_manager.templates.resolve import (
    SECRET_MASK,
    ResolvedTemplate,
    has_secret_defaults,
    is_secret,
    masked_manifest_json,
    resolve,
)
from lxc_manager.templates.schemas import (
    FileContent,
    FileDiff,
    HookOut,
    PackageOut,
    RevisionDetail,
    RevisionDiff,
    RevisionSummary,
    ScriptOut,
    TemplateConfig,
    TemplateDetail,
    TemplateFileOut,
    TemplatePage,
    TemplateSummary,
)

MAX_DIFF_LINES = 20_000


def etag_of(template: Template) -> str:
    return f'"{template.current_revision}-{template.content_hash[:16]}"'


async def get_template(session: AsyncSession, name: str) -> Template:
    template = await TemplateRepository(session).get(name)
    if template is None:
        raise NotFound(f"template {name!r} not found")
    return template


async def get_revision(session: AsyncSession, template: Template, number: int | None = None) -> TemplateRevision:
    revision = await TemplateRepository(session).revision(template.id, number or template.current_revision)
    if revision is None:
        raise NotFound(f"template {template.name!r} has no revision {number}")
    return revision


async def list_templates(session: AsyncSession, **filters: Any) -> TemplatePage:
    repo = TemplateRepository(session)
    rows, total = await repo.search(**filters)
    buckets = await repo.bucket_names_by_template([row.id for row in rows])
    items = [
        TemplateSummary.model_validate(row).model_copy(update={"buckets": buckets.get(row.id, [])}) for row in rows
    ]
    return TemplatePage(items=items, total=total, limit=filters["limit"], offset=filters["offset"])


def manifest_yaml_for(revision: TemplateRevision) -> str:
    """The stored template.yaml; re-rendered from the masked manifest when it would reveal a secret default."""
    if has_secret_defaults(revision.manifest):
        return "# secret input defaults are masked in this view\n" + yaml.safe_dump(
            masked_manifest_json(revision.manifest), sort_keys=False, allow_unicode=True
        )
    entry = revision.files.get(MANIFEST)
    if entry and entry.get("encoding") == "utf-8":
        return str(entry["content"])
    return yaml.safe_dump(revision.manifest, sort_keys=False, allow_unicode=True)


def _file(path: str, entry: Mapping[str, Any] | None) -> dict[str, Any]:
    entry = entry or {"content": None, "encoding": "utf-8", "sha256": "", "mode": "0644", "size": 0}
    return {
        "path": path,
        "content": entry.get("content"),
        "encoding": entry.get("encoding", "utf-8"),
        "sha256": entry.get("sha256", ""),
        "mode": entry.get("mode", "0644"),
        "size": entry.get("size", 0),
    }


async def resolve_revision(session: AsyncSession, template: Template, revision: TemplateRevision) -> ResolvedTemplate:
    manifest = TemplateManifest.model_validate(revision.manifest)
    packages = await BucketRepository(session).packages_by_name(list(manifest.packages.buckets))
    return resolve(
        name=template.name,
        revision=revision.number,
        content_hash=revision.content_hash,
        manifest_json=revision.manifest,
        files_json=revision.files,
        bucket_packages=packages,
    )


async def resolve_template(session: AsyncSession, name: str, revision: int | None = None) -> ResolvedTemplate:
    """What the deployment pipeline calls: a template (current or given revision) ready to execute."""
    template = await get_template(session, name)
    return await resolve_revision(session, template, await get_revision(session, template, revision))


async def template_detail(session: AsyncSession, settings: Settings, template: Template) -> TemplateDetail:
    revision = await get_revision(session, template)
    resolved = await resolve_revision(session, template, revision)
    manifest = resolved.manifest
    files = revision.files
    summary = TemplateSummary.model_validate(template).model_copy(update={"buckets": list(manifest.packages.buckets)})
    readme = files.get(README)
    return TemplateDetail(
        **summary.model_dump(),
        etag=etag_of(template),
        writable=disk.templates_writable(settings),
        revision_author=revision.author,
        revision_message=revision.message,
        revision_created_at=revision.created_at,
        manifest=masked_manifest_json(revision.manifest),
        manifest_yaml=manifest_yaml_for(revision),
        readme=str(readme["content"]) if readme and readme.get("encoding") == "utf-8" else None,
        config=TemplateConfig(os=manifest.os, container=manifest.container),
        scripts=[
            ScriptOut(name=s.name, order=i + 1, **_file(s.path, files.get(s.path)))
            for i, s in enumerate(resolved.scripts)
        ],
        hooks=[
            HookOut(name=h.name, event=h.event.value, target=h.target, **_file(h.path, files.get(h.path)))
            for h in resolved.hooks
        ],
        files=[
            TemplateFileOut(
                source=f.source,
                destination=f.destination,
                owner=f.owner,
                file_mode=f.mode,
                **_file(f"files/{f.source}", files.get(f"files/{f.source}")),
            )
            for f in resolved.files
        ],
        packages=[PackageOut(name=p.name, spec=p.spec, sources=p.sources) for p in resolved.packages.packages],
        missing_buckets=resolved.packages.missing_buckets,
        package_conflicts=resolved.packages.conflicts,
        services=manifest.services,
        credentials=manifest.credentials,
        inputs=[
            spec.model_copy(update={"default": SECRET_MASK}) if is_secret(spec) and spec.default is not None else spec
            for spec in manifest.inputs
        ],
    )


async def list_revisions(session: AsyncSession, name: str, *, limit: int, offset: int) -> tuple[list[Any], int]:
    template = await get_template(session, name)
    rows, total = await TemplateRepository(session).revisions(template.id, limit=limit, offset=offset)
    return [RevisionSummary.model_validate(row, from_attributes=True) for row in rows], total


async def revision_detail(session: AsyncSession, name: str, number: int) -> RevisionDetail:
    template = await get_template(session, name)
    revision = await get_revision(session, template, number)
    return RevisionDetail(
        template=template.name,
        number=revision.number,
        content_hash=revision.content_hash,
        author=revision.author,
        message=revision.message,
        created_at=revision.created_at,
        manifest=masked_manifest_json(revision.manifest),
        manifest_yaml=manifest_yaml_for(revision),
        files=[FileContent(**_file(path, entry)) for path, entry in sorted(revision.files.items()) if path != MANIFEST],
    )


def _text_of(revision: TemplateRevision, path: str) -> tuple[list[str] | None, str | None]:
    """(lines, sha256) of a file in a revision; lines None for binary content."""
    if path == MANIFEST:
        text = manifest_yaml_for(revision)
        return text.splitlines(keepends=True), text
    entry = revision.files.get(path)
    if entry is None:
        return [], None
    if entry.get("encoding") != "utf-8":
        return None, str(entry.get("sha256"))
    return str(entry["content"]).splitlines(keepends=True), str(entry.get("sha256"))


async def diff_revisions(session: AsyncSession, name: str, old: int, new: int) -> RevisionDiff:
    template = await get_template(session, name)
    before = await get_revision(session, template, old)
    after = await get_revision(session, template, new)
    out: list[FileDiff] = []
    for path in sorted(set(before.files) | set(after.files)):
        if path in before.files and path in after.files:
            status = "modified"
            if before.files[path].get("sha256") == after.files[path].get("sha256"):
                continue
        else:
            status = "added" if path in after.files else "removed"
        old_lines, _ = _text_of(before, path) if path in before.files else ([], None)
        new_lines, _ = _text_of(after, path) if path in after.files else ([], None)
        if old_lines is None or new_lines is None:
            out.append(FileDiff(path=path, status=status, binary=True, diff=""))
            continue
        lines = difflib.unified_diff(
            old_lines,
            new_lines,
            fromfile=f"r{old}/{path}" if path in before.files else "/dev/null",
            tofile=f"r{new}/{path}" if path in after.files else "/dev/null",
        )
        text = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
        if text.count("\n") > MAX_DIFF_LINES:
            text = "\n".join(text.splitlines()[:MAX_DIFF_LINES]) + "\n… diff truncated\n"
        out.append(FileDiff(path=path, status=status, binary=False, diff=text))
    return RevisionDiff(template=template.name, from_revision=old, to_revision=new, files=out)
