"""Discovery into the DB: revisions by content hash, zero writes when unchanged, archive on removal, no blocking."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event, func, select

from lxc_manager.core.config import Settings
from lxc_manager.core.db import unit_of_work
from lxc_manager.models import Bucket, Template, TemplateRevision
from lxc_manager.templates.service import run_sync
from lxc_manager.templates.startup import sync_command
from lxc_manager.templates.sync import SyncReport

BROKEN = "format: 1\nname: broken\nos:\n  template: debian-12-standard\ncontainer:\n  memory: lots\n"


async def sync(app: FastAPI) -> SyncReport:
    state = app.state.lxcm
    async with unit_of_work(state.sessionmaker) as session:
        return await run_sync(session, state.settings, None)


@contextmanager
def count_statements(app: FastAPI) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = app.state.lxcm.engine.sync_engine

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.strip().split()[0].upper())

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)


async def scalar(app: FastAPI, query: Any) -> Any:
    async with unit_of_work(app.state.lxcm.sessionmaker) as session:
        return await session.scalar(query)


def copy_minimal(tree: Path, name: str) -> Path:
    target = tree / "templates" / name
    shutil.copytree(tree / "templates" / "minimal", target)
    manifest = target / "template.yaml"
    manifest.write_text(manifest.read_text().replace("name: minimal", f"name: {name}"))
    return target


async def test_startup_synced_the_repository_templates_cleanly(app: FastAPI) -> None:
    report = await sync(app)
    assert report.errors == []
    assert "minimal" in report.unchanged
    assert report.buckets.unchanged == ["base"]
    template = await scalar(app, select(Template).where(Template.name == "minimal"))
    assert (template.origin, template.status, template.folder, template.current_revision) == (
        "filesystem",
        "active",
        "minimal",
        1,
    )


async def test_unchanged_sync_does_no_writes(app: FastAPI, lxc_tree: Path) -> None:
    for index in range(20):
        copy_minimal(lxc_tree, f"copy-{index}")
    first = await sync(app)
    assert len(first.added) == 20
    with count_statements(app) as statements:
        report = await sync(app)
    assert len(report.unchanged) == 21 and not report.changed
    writes = [s for s in statements if s in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == [], statements
    assert len([s for s in statements if s == "SELECT"]) <= 3  # batched: buckets + templates


async def test_good_broken_and_removed_templates(app: FastAPI, lxc_tree: Path) -> None:
    templates = lxc_tree / "templates"
    copy_minimal(lxc_tree, "second")
    (templates / "broken").mkdir()
    (templates / "broken" / "template.yaml").write_text(BROKEN)
    report = await sync(app)
    assert report.added == ["second"]
    [problem] = report.errors
    assert (problem.file, problem.line, problem.field) == ("broken/template.yaml", 6, "container.memory")

    # Removing a folder archives the template; its revisions stay.
    shutil.rmtree(templates / "second")
    report = await sync(app)
    assert report.archived == ["second"]
    second = await scalar(app, select(Template).where(Template.name == "second"))
    assert second.status == "archived" and second.archived_at is not None
    revisions = await scalar(
        app, select(func.count()).select_from(TemplateRevision).where(TemplateRevision.template_id == second.id)
    )
    assert revisions == 1
    assert await scalar(app, select(func.count()).select_from(Template).where(Template.name == "broken")) == 0

    # Coming back reactivates it without a new revision (same content).
    copy_minimal(lxc_tree, "second")
    report = await sync(app)
    assert report.updated == ["second"]
    second = await scalar(app, select(Template).where(Template.name == "second"))
    assert (second.status, second.current_revision) == ("active", 1)


async def test_changed_content_makes_a_new_revision_and_broken_keeps_the_last_good(
    app: FastAPI, lxc_tree: Path
) -> None:
    script = lxc_tree / "templates" / "minimal" / "scripts" / "10-web.sh"
    script.write_text(script.read_text() + "\necho changed\n")
    report = await sync(app)
    assert report.updated == ["minimal"]
    template = await scalar(app, select(Template).where(Template.name == "minimal"))
    assert template.current_revision == 2
    first = await scalar(
        app, select(TemplateRevision).where(TemplateRevision.template_id == template.id, TemplateRevision.number == 1)
    )
    assert "echo changed" not in first.files["scripts/10-web.sh"]["content"]

    manifest = lxc_tree / "templates" / "minimal" / "template.yaml"
    manifest.write_text(manifest.read_text().replace("cores: 1", "cores: zero"))
    report = await sync(app)
    assert report.errors and report.errors[0].field == "container.cores"
    template = await scalar(app, select(Template).where(Template.name == "minimal"))
    assert (template.status, template.current_revision) == ("active", 2)


async def test_buckets_sync_and_unknown_bucket_is_an_error(app: FastAPI, lxc_tree: Path) -> None:
    (lxc_tree / "buckets" / "web.yaml").write_text("format: 1\nname: web\npackages: [nginx]\n")
    (lxc_tree / "buckets" / "bad.yaml").write_text("format: 1\nname: bad\npackages: [Not_Valid]\n")
    target = copy_minimal(lxc_tree, "uses-web")
    manifest = target / "template.yaml"
    manifest.write_text(manifest.read_text().replace("buckets: [base]", "buckets: [base, web, nope]"))
    report = await sync(app)
    assert report.buckets.added == ["web"]
    assert {p.file for p in report.errors} == {"buckets/bad.yaml", "uses-web/template.yaml"}
    assert any("unknown bucket 'nope'" in p.message for p in report.errors)

    (lxc_tree / "buckets" / "web.yaml").unlink()
    report = await sync(app)
    assert report.buckets.removed == ["web"]
    assert await scalar(app, select(func.count()).select_from(Bucket).where(Bucket.name == "web")) == 0


async def test_cli_exit_code_and_errors_on_stderr(
    settings: Settings, lxc_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lxc_manager.core.migrate import upgrade_to_head  # noqa: F401 - the fixture DB is migrated already

    assert await sync_command(settings) == 0
    assert "1 added" in capsys.readouterr().out
    (lxc_tree / "templates" / "broken").mkdir()
    (lxc_tree / "templates" / "broken" / "template.yaml").write_text(BROKEN)
    assert await sync_command(settings) == 1
    err = capsys.readouterr().err
    assert "broken/template.yaml:6:" in err and "container.memory" in err


async def test_broken_tree_never_blocks_startup(settings: Settings, lxc_tree: Path) -> None:
    from lxc_manager.main import create_app

    (lxc_tree / "templates" / "broken").mkdir()
    (lxc_tree / "templates" / "broken" / "template.yaml").write_text("!!python/object/apply:os.system ['id']\n")
    (lxc_tree / "templates" / "empty").mkdir()
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        names = await scalar(application, select(func.count()).select_from(Template))
    assert names == 1  # minimal synced, the broken ones skipped


def test_test_runs_never_write_into_the_repository(settings: Settings) -> None:
    from lxc_manager.templates import disk
    from lxc_tree import REPO_LXC

    assert disk.templates_writable(settings)  # the temp copy
    repo = settings.model_copy(update={"templates_dir": REPO_LXC / "templates"})
    assert not disk.templates_writable(repo) and not disk.buckets_writable(repo)


async def test_the_repository_tree_syncs_without_errors(app: FastAPI, tmp_path: Path) -> None:
    from lxc_tree import REPO_LXC

    tree = tmp_path / "repo-copy"
    shutil.copytree(REPO_LXC / "templates", tree / "templates", symlinks=True)
    shutil.copytree(REPO_LXC / "buckets", tree / "buckets", symlinks=True)
    state = app.state.lxcm
    settings = state.settings.model_copy(update={"templates_dir": tree / "templates"})
    async with unit_of_work(state.sessionmaker) as session:
        report = await run_sync(session, settings, None)
    assert [str(p) for p in report.errors] == []
    assert "minimal" in report.unchanged + report.added + report.updated


async def test_a_template_folder_linked_from_outside_is_refused(app: FastAPI, lxc_tree: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "linked"
    shutil.copytree(lxc_tree / "templates" / "minimal", outside)
    manifest = outside / "template.yaml"
    manifest.write_text(manifest.read_text().replace("name: minimal", "name: linked"))
    (lxc_tree / "templates" / "linked").symlink_to(outside, target_is_directory=True)
    report = await sync(app)
    assert [(p.file, p.message) for p in report.errors] == [
        ("linked", "the template folder is a symlink pointing outside the templates folder")
    ]
    assert "linked" not in report.added
