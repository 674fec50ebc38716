"""Write side of the catalogue: create, update, clone, delete, import, export and sync.

Every save is a new revision. Order inside one request: validate → DB change (the conditional revision bump
decides concurrent edits: one wins, the other gets 412) → write the folder back → audit; the request commits.
If the commit then fails, the folder already holds the new content and the next sync records it, so the
folder (the source of truth) and the DB converge.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

import yaml
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.audit import service as audit
from lxc_manager.buckets.repository import BucketRepository
from lxc_manager.core.config import Settings
from lxc_manager.core.errors import (
    BadRequest,
    Conflict,
    FieldError,
    PayloadTooLarge,
    PreconditionFailed,
    UnprocessableEntity,
)
from lxc_manager.models import Template, TemplateOrigin, TemplateStatus
from lxc_manager.templates import disk, store
from lxc_manager.templates.archive import ArchiveError, export_tar_gz, read_tar_gz
from lxc_manager.templates.catalogue import etag_of, get_revision, get_template
from lxc_manager.templates.format import TemplateManifest
from lxc_manager.templates.loader import (
    MANIFEST,
    MAX_FILE_BYTES,
    MAX_PATH_LENGTH,
    MAX_TEMPLATE_BYTES,
    README,
    InvalidTemplate,
    ParsedTemplate,
    Problem,
    RawFile,
    RawTemplate,
    decode_files,
    parse_manifest_text,
    parse_template,
)
from lxc_manager.templates.repository import TemplateRepository
from lxc_manager.templates.resolve import SECRET_MASK, is_secret
from lxc_manager.templates.sync import SyncReport, sync_templates

WRITABLE_PREFIXES = ("scripts/", "files/", "hooks/")


@dataclass(frozen=True)
class Actor:
    id: str | None
    name: str
    ip: str | None = None


# ---------------------------------------------------------------- validation helpers


def invalid(problems: list[Problem]) -> UnprocessableEntity:
    fields = [
        FieldError(loc=["body", p.file, *([p.field] if p.field else [])], msg=_where(p) + p.message, type="template")
        for p in problems[:50]
    ]
    summary = "; ".join(str(p) for p in problems[:5])
    return UnprocessableEntity(f"invalid template: {summary}", code="invalid_template", fields=fields)


def _where(problem: Problem) -> str:
    return f"line {problem.line}, column {problem.column}: " if problem.line is not None else ""


def render_manifest_yaml(manifest: TemplateManifest) -> str:
    data = manifest.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return yaml.safe_dump({"format": manifest.format, **data}, sort_keys=False, allow_unicode=True, width=100)


def check_file_path(path: str, *, allow_manifest: bool) -> str | None:
    """Why ``path`` may not be part of a template, or None when it may."""
    if path == MANIFEST:
        return None if allow_manifest else "template.yaml is given as manifest/manifest_yaml"
    if path == README:
        return None
    if len(path) > MAX_PATH_LENGTH or "\\" in path or "\x00" in path:
        return "invalid path"
    if not path.startswith(WRITABLE_PREFIXES):
        return "files must live under scripts/, files/ or hooks/ (or be README.md)"
    parts = path.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return "path segments must be non-empty and must not start with '.'"
    return None


def _check_paths(paths: list[str], *, allow_manifest: bool) -> None:
    problems = [
        Problem(path, reason) for path in paths if (reason := check_file_path(path, allow_manifest=allow_manifest))
    ]
    folders = {"/".join(path.split("/")[:depth]) for path in paths for depth in range(1, path.count("/") + 1)}
    problems += [Problem(path, "is both a file and a folder") for path in paths if path in folders]
    if problems:
        raise invalid(problems)


def build_raw(
    name: str | None,
    manifest: TemplateManifest | None,
    manifest_yaml: str | None,
    files: Mapping[str, tuple[str, str, str]],
) -> RawTemplate:
    """A RawTemplate from an API body. ``files`` maps path → (content, encoding, mode)."""
    if (manifest is None) == (manifest_yaml is None):
        raise UnprocessableEntity("give exactly one of manifest or manifest_yaml", code="invalid_template")
    _check_paths(list(files), allow_manifest=False)
    text = manifest_yaml if manifest_yaml is not None else render_manifest_yaml(manifest)  # type: ignore[arg-type]
    raw_files: dict[str, RawFile] = {MANIFEST: RawFile(text.encode("utf-8"), 0o644)}
    total = 0
    for path, (content, encoding, mode) in files.items():
        if encoding == "base64":
            try:
                data = base64.b64decode(content, validate=True)
            except (binascii.Error, ValueError):
                raise invalid([Problem(path, "content is not valid base64")]) from None
        else:
            data = content.encode("utf-8")
        if len(data) > MAX_FILE_BYTES:
            raise PayloadTooLarge(f"{path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
        total += len(data)
        if total > MAX_TEMPLATE_BYTES:
            raise PayloadTooLarge(f"template larger than {MAX_TEMPLATE_BYTES // (1024 * 1024)} MiB")
        raw_files[path] = RawFile(data, int(mode, 8))
    if name is None:
        try:
            name = parse_manifest_text(raw_files[MANIFEST].data)[0].name
        except InvalidTemplate as exc:
            raise invalid(exc.problems) from None
    return RawTemplate(name=name, files=raw_files)


def restore_masked_secrets(raw: RawTemplate, current: TemplateManifest) -> RawTemplate:
    """Put back secret input defaults that come back as the mask the API shows instead of them.

    The detail answer masks them, so an editor that sends the template back unchanged must not replace a stored
    secret with ``********``. A mask with no stored secret of that name behind it is refused, never saved.
    """
    try:
        manifest, _ = parse_manifest_text(raw.files[MANIFEST].data)
    except InvalidTemplate:
        return raw  # _validate reports it with positions
    stored = {spec.name: spec.default for spec in current.inputs if is_secret(spec) and spec.default is not None}
    inputs = []
    restored = False
    for index, spec in enumerate(manifest.inputs):
        if is_secret(spec) and spec.default == SECRET_MASK:
            if spec.name not in stored:
                raise invalid(
                    [
                        Problem(
                            MANIFEST, "is the mask of a stored secret; enter a value", field=f"inputs.{index}.default"
                        )
                    ]
                )
            spec = spec.model_copy(update={"default": stored[spec.name]})
            restored = True
        inputs.append(spec)
    if not restored:
        return raw
    text = render_manifest_yaml(manifest.model_copy(update={"inputs": inputs}))
    return RawTemplate(name=raw.name, files={**raw.files, MANIFEST: RawFile(text.encode("utf-8"), 0o644)})


async def _validate(session: AsyncSession, raw: RawTemplate) -> ParsedTemplate:
    known = {bucket.name for bucket in await BucketRepository(session).all()}
    try:
        return parse_template(raw, label=raw.name, known_buckets=known)
    except InvalidTemplate as exc:
        raise invalid(exc.problems) from None


class PreconditionRequired(PreconditionFailed):
    status_code = 428
    code = "precondition_required"
    default_detail = "If-Match header required"


def check_if_match(template: Template, if_match: str | None) -> None:
    if if_match is None:
        raise PreconditionRequired(f"send If-Match with the ETag of the revision you edited ({etag_of(template)})")
    candidates = {part.strip() for part in if_match.split(",")}
    current = etag_of(template)
    if current not in candidates and current.strip('"') not in candidates:
        raise PreconditionFailed(
            f"template {template.name!r} is now at revision {template.current_revision}; reload and retry",
            headers={"ETag": current},
        )


def _record(session: AsyncSession, actor: Actor, action: str, name: str, **details: object) -> None:
    audit.record(
        session,
        action,
        actor_id=actor.id,
        actor_name=actor.name,
        target_type="template",
        target_id=name,
        client_ip=actor.ip,
        details=dict(details),
    )


# ---------------------------------------------------------------- operations


async def _create_from_raw(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    raw: RawTemplate,
    *,
    origin: str,
    message: str,
    action: str,
    **audit_details: object,
) -> Template:
    parsed = await _validate(session, raw)
    repo = TemplateRepository(session)
    existing = await repo.get(parsed.name)
    if existing is not None and existing.status == TemplateStatus.active.value:
        raise Conflict(f"a template named {parsed.name!r} already exists", code="template_exists")
    writable = disk.templates_writable(settings)
    root = settings.templates_dir
    if writable and disk.folder_exists(root, parsed.name) and not (existing and existing.folder == parsed.name):
        raise Conflict(
            f"the templates folder already holds a folder {parsed.name!r} (a broken template?); fix or remove it",
            code="template_exists",
        )
    folder = parsed.name if writable else None
    if existing is not None:  # an archived name comes back with its history
        await store.append_revision(
            repo,
            existing.id,
            existing.current_revision,
            parsed,
            author=actor.name,
            message=message,
            extra={"folder": folder, "origin": origin},
        )
    else:
        try:
            await store.create(repo, parsed, origin=origin, folder=folder, author=actor.name, message=message)
        except IntegrityError:  # a concurrent create of the same name committed first
            raise Conflict(f"a template named {parsed.name!r} already exists", code="template_exists") from None
    if folder is not None:
        await disk.run(disk.write_template_folder, root, parsed.name, parsed.files)
    _record(
        session,
        actor,
        action,
        parsed.name,
        content_hash=parsed.content_hash,
        written_to_disk=folder is not None,
        **audit_details,
    )
    return await get_template(session, parsed.name)


async def create_template(
    session: AsyncSession, settings: Settings, actor: Actor, raw: RawTemplate, message: str | None
) -> Template:
    return await _create_from_raw(
        session,
        settings,
        actor,
        raw,
        origin=TemplateOrigin.dashboard.value,
        message=message or "created",
        action="template.create",
    )


async def update_template(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    name: str,
    raw: RawTemplate,
    message: str | None,
    if_match: str | None,
) -> Template:
    template = await get_template(session, name)
    check_if_match(template, if_match)
    if template.status != TemplateStatus.active.value:
        raise Conflict(f"template {name!r} is archived; create it again to restore it", code="template_archived")
    current = TemplateManifest.model_validate((await get_revision(session, template)).manifest)
    parsed = await _validate(session, restore_masked_secrets(raw, current))
    root = settings.templates_dir
    if template.folder is not None:
        disk.require_templates_writable(settings, f"cannot save template {name!r}")
        folder: str | None = template.folder
    else:
        # A DB-only template moves into the folder as soon as the folder is writable.
        folder = name if disk.templates_writable(settings) and not disk.folder_exists(root, name) else None
    number = await store.append_revision(
        TemplateRepository(session),
        template.id,
        template.current_revision,
        parsed,
        author=actor.name,
        message=message or "updated",
        extra={"folder": folder},
    )
    if folder is not None:
        await disk.run(disk.write_template_folder, root, folder, parsed.files)
    _record(session, actor, "template.update", name, revision=number, content_hash=parsed.content_hash)
    return await get_template(session, name)


async def clone_template(
    session: AsyncSession, settings: Settings, actor: Actor, name: str, new_name: str, message: str | None
) -> Template:
    source = await get_template(session, name)
    revision = await get_revision(session, source)
    files = decode_files(revision.files)
    manifest = TemplateManifest.model_validate(revision.manifest).model_copy(update={"name": new_name})
    files[MANIFEST] = RawFile(render_manifest_yaml(manifest).encode("utf-8"), 0o644)
    raw = RawTemplate(name=new_name, files=files)
    return await _create_from_raw(
        session,
        settings,
        actor,
        raw,
        origin=TemplateOrigin.dashboard.value,
        message=message or f"cloned from {name} revision {revision.number}",
        action="template.clone",
        source=name,
        source_revision=revision.number,
    )


async def delete_template(
    session: AsyncSession, settings: Settings, actor: Actor, name: str, if_match: str | None
) -> None:
    """Archive (revisions stay for deployments); remove the folder when it is writable, else 409."""
    template = await get_template(session, name)
    check_if_match(template, if_match)
    if template.status != TemplateStatus.active.value:
        raise Conflict(f"template {name!r} is already archived", code="template_archived")
    if template.folder is not None:
        disk.require_templates_writable(settings, f"cannot delete template {name!r}")
    await TemplateRepository(session).set_status([template.id], TemplateStatus.archived)
    if template.folder is not None:
        await disk.run(disk.remove_template_folder, settings.templates_dir, template.folder)
    _record(session, actor, "template.delete", name, revision=template.current_revision)


async def import_template(session: AsyncSession, settings: Settings, actor: Actor, data: bytes) -> Template:
    try:
        top, files = read_tar_gz(data)
    except ArchiveError as exc:
        raise BadRequest(str(exc), code="invalid_archive") from None
    _check_paths(list(files), allow_manifest=True)
    try:
        manifest, _ = parse_manifest_text(files[MANIFEST].data)
    except InvalidTemplate as exc:
        raise invalid(exc.problems) from None
    if top is not None and top != manifest.name:
        raise invalid([Problem(f"{top}/{MANIFEST}", f"name {manifest.name!r} must equal the folder name {top!r}")])
    raw = RawTemplate(name=manifest.name, files=files)
    return await _create_from_raw(
        session,
        settings,
        actor,
        raw,
        origin=TemplateOrigin.imported.value,
        message="imported from archive",
        action="template.import",
    )


async def export_template(session: AsyncSession, name: str, revision: int | None) -> tuple[str, bytes]:
    template = await get_template(session, name)
    stored = await get_revision(session, template, revision)
    data = await asyncio.to_thread(export_tar_gz, template.name, decode_files(stored.files))
    return f"{template.name}-r{stored.number}.tar.gz", data


async def run_sync(session: AsyncSession, settings: Settings, actor: Actor | None) -> SyncReport:
    """One discovery pass; audited when a person or the CLI asked for it (start-up syncs are only logged)."""
    report = await sync_templates(session, settings)
    if actor is not None:
        audit.record(
            session,
            "template.sync",
            actor_id=actor.id,
            actor_name=actor.name,
            target_type="template",
            client_ip=actor.ip,
            details={
                "added": len(report.added),
                "updated": len(report.updated),
                "archived": len(report.archived),
                "errors": len(report.errors),
            },
        )
    return report
