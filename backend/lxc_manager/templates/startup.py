"""Discovery at start-up and from the CLI. Start-up never fails because of a template."""

from __future__ import annotations

import sys

from lxc_manager.core.config import Settings
from lxc_manager.core.db import create_engine, create_sessionmaker, unit_of_work
from lxc_manager.core.logging import get_logger
from lxc_manager.core.state import AppState
from lxc_manager.templates.service import Actor, run_sync

log = get_logger(__name__)


async def sync_on_startup(state: AppState) -> None:
    if not state.settings.templates_sync_on_startup:
        return
    try:
        async with unit_of_work(state.sessionmaker) as session:
            report = await run_sync(session, state.settings, None)
    except Exception as exc:  # a missing table or a locked DB must not keep the API down
        log.warning("template_sync_failed_at_startup", error=f"{type(exc).__name__}: {exc}"[:500])
        return
    log.info(
        "template_sync_at_startup",
        added=len(report.added),
        updated=len(report.updated),
        unchanged=len(report.unchanged),
        archived=len(report.archived),
        errors=len(report.errors),
    )


async def sync_command(settings: Settings) -> int:
    """``lxc-manager sync-templates``: print the report; exit 1 when any template or bucket is broken."""
    engine = create_engine(settings.effective_database_url)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            report = await run_sync(session, settings, Actor(id=None, name="cli"))
    finally:
        await engine.dispose()
    for label, names in (
        ("added", report.added),
        ("updated", report.updated),
        ("archived", report.archived),
        ("buckets added", report.buckets.added),
        ("buckets updated", report.buckets.updated),
        ("buckets removed", report.buckets.removed),
    ):
        if names:
            sys.stdout.write(f"{label}: {', '.join(names)}\n")
    sys.stdout.write(
        f"templates: {len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.archived)} archived, {len(report.errors)} errors\n"
    )
    for problem in report.errors:
        sys.stderr.write(f"error: {problem}\n")
    return 1 if report.errors else 0
