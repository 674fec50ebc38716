"""Discovery: mirror the templates and buckets folders into the DB.

- Hash first: a template whose raw bytes hash to the stored ``content_hash`` is neither parsed nor written.
- Broken templates and buckets are reported with file/line/column/field and skipped; the others sync.
- A template folder that disappeared is archived (its revisions stay); a broken one keeps its last good revision.
- A bucket file that disappeared is removed from the DB (deployments store their resolved packages).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.buckets.repository import BucketRepository
from lxc_manager.core.config import Settings
from lxc_manager.core.errors import Conflict, PreconditionFailed
from lxc_manager.core.logging import get_logger
from lxc_manager.models import Bucket, TemplateOrigin, TemplateStatus
from lxc_manager.templates import store
from lxc_manager.templates.loader import (
    InvalidTemplate,
    ParsedBucket,
    ParsedTemplate,
    Problem,
    RawTemplate,
    list_template_dirs,
    parse_template,
    read_buckets_dir,
    read_template_dir,
)
from lxc_manager.templates.repository import TemplateRepository, TemplateState

log = get_logger(__name__)

SYNC_AUTHOR = "sync"


@dataclass
class BucketSyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    buckets: BucketSyncReport = field(default_factory=BucketSyncReport)

    @property
    def changed(self) -> bool:
        b = self.buckets
        return bool(self.added or self.updated or self.archived or b.added or b.updated or b.removed)


@dataclass
class _DiskScan:
    buckets: dict[str, ParsedBucket]
    templates: dict[str, RawTemplate]
    present: set[str]  # every template folder name seen, readable or not
    problems: list[Problem]


def _scan(templates_dir: Path, buckets_dir: Path) -> _DiskScan:
    """The blocking part (file reads and hashing), run in a thread."""
    buckets, problems = read_buckets_dir(buckets_dir)
    templates: dict[str, RawTemplate] = {}
    present: set[str] = set()
    for folder in list_template_dirs(templates_dir):
        present.add(folder.name)
        try:
            templates[folder.name] = read_template_dir(folder, within=templates_dir)
        except InvalidTemplate as exc:
            problems.extend(exc.problems)
    return _DiskScan(buckets, templates, present, problems)


async def _sync_buckets(session: AsyncSession, scan: _DiskScan, report: BucketSyncReport) -> set[str]:
    """Mirror bucket files; return the names a template may reference."""
    repo = BucketRepository(session)
    stored = {bucket.name: bucket for bucket in await repo.all()}
    for name, parsed in scan.buckets.items():
        manifest = parsed.manifest
        bucket = stored.get(name)
        if bucket is None:
            repo.add(
                Bucket(
                    name=name,
                    description=manifest.description,
                    packages=list(manifest.packages),
                    origin=TemplateOrigin.filesystem.value,
                    file=parsed.path.name if parsed.path else f"{name}.yaml",
                    content_hash=parsed.content_hash,
                )
            )
            report.added.append(name)
        elif bucket.content_hash != parsed.content_hash or bucket.file is None:
            bucket.description = manifest.description
            bucket.packages = list(manifest.packages)
            bucket.content_hash = parsed.content_hash
            bucket.file = parsed.path.name if parsed.path else f"{name}.yaml"
            report.updated.append(name)
        else:
            report.unchanged.append(name)
    gone = [name for name, bucket in stored.items() if bucket.file is not None and name not in scan.buckets]
    await repo.delete_by_names(gone)
    report.removed.extend(gone)
    db_only = {name for name, bucket in stored.items() if bucket.file is None}
    return set(scan.buckets) | db_only


async def sync_templates(session: AsyncSession, settings: Settings) -> SyncReport:
    """One discovery pass; the caller owns the transaction."""
    scan = await asyncio.to_thread(_scan, settings.templates_dir, settings.effective_buckets_dir)
    report = SyncReport(errors=list(scan.problems))
    known_buckets = await _sync_buckets(session, scan, report.buckets)
    repo = TemplateRepository(session)
    states = await repo.states()

    templates: list[dict[str, Any]] = []
    revisions: list[dict[str, Any]] = []
    tags: list[dict[str, Any]] = []
    bucket_uses: list[dict[str, Any]] = []
    reactivate: list[str] = []
    for name, raw in scan.templates.items():
        state = states.get(name)
        if state is not None and state.folder == name and state.content_hash == raw.content_hash:
            if state.status == TemplateStatus.archived.value:
                reactivate.append(state.id)
                report.updated.append(name)
            else:
                report.unchanged.append(name)
            continue
        try:
            parsed = parse_template(raw, known_buckets=known_buckets)
        except InvalidTemplate as exc:
            report.errors.extend(exc.problems)
            continue
        if state is None:
            template, revision, template_tags, uses = store.new_rows(
                parsed, origin=TemplateOrigin.filesystem.value, folder=name, author=SYNC_AUTHOR, message="discovered"
            )
            templates.append(template)
            revisions.append(revision)
            tags.extend(template_tags)
            bucket_uses.extend(uses)
            report.added.append(name)
        else:
            await _new_revision(repo, state, parsed)
            report.updated.append(name)
    await repo.set_status(reactivate, TemplateStatus.active)
    await repo.insert_many(templates, revisions, tags, bucket_uses)

    gone = [
        state
        for state in states.values()
        if state.folder is not None and state.status == TemplateStatus.active.value and state.folder not in scan.present
    ]
    await repo.set_status([state.id for state in gone], TemplateStatus.archived)
    report.archived.extend(sorted(state.name for state in gone))
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("another template sync or edit ran at the same time; retry") from None
    for problem in report.errors:
        log.warning("template_invalid", problem=str(problem))
    if report.changed:
        log.info(
            "templates_synced",
            added=len(report.added),
            updated=len(report.updated),
            archived=len(report.archived),
            errors=len(report.errors),
        )
    return report


async def _new_revision(repo: TemplateRepository, state: TemplateState, parsed: ParsedTemplate) -> None:
    message = "changed on disk" if state.folder == parsed.name else "adopted from disk"
    try:
        await store.append_revision(
            repo,
            state.id,
            state.current_revision,
            parsed,
            author=SYNC_AUTHOR,
            message=message,
            extra={"folder": parsed.name},
        )
    except PreconditionFailed:
        raise Conflict(f"template {parsed.name!r} was edited during the sync; retry") from None
