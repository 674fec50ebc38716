"""SQLite in WAL mode with a busy timeout: concurrent writers queue instead of failing."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text

from lxc_manager.core.config import Settings
from lxc_manager.core.db import after_commit, create_engine, create_sessionmaker, is_sqlite, unit_of_work
from lxc_manager.models import AuditEvent


async def test_sqlite_pragmas(settings: Settings) -> None:
    if not is_sqlite(settings.effective_database_url):
        pytest.skip("SQLite-specific")
    engine = create_engine(settings.effective_database_url)
    async with engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 30000
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    await engine.dispose()


async def test_fifty_concurrent_writers(settings: Settings) -> None:
    """50 writers, each its own engine/connection like separate processes, read-then-write transactions."""
    url = settings.effective_database_url
    engines = [create_engine(url) for _ in range(5)]
    makers = [create_sessionmaker(e) for e in engines]

    async def writer(i: int) -> None:
        async with unit_of_work(makers[i % len(makers)]) as session:
            # read first, then write: the pattern that fails with deferred transactions
            await session.scalar(select(func.count()).select_from(AuditEvent))
            session.add(AuditEvent(action="test.write", details={"i": i}))
            await session.flush()
            await asyncio.sleep(0.001)

    results = await asyncio.gather(*(writer(i) for i in range(50)), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    async with unit_of_work(makers[0]) as session:
        count = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "test.write")
        )
    assert count == 50
    for engine in engines:
        await engine.dispose()


async def test_after_commit_runs_only_after_commit(settings: Settings) -> None:
    engine = create_engine(settings.effective_database_url)
    maker = create_sessionmaker(engine)
    fired: list[str] = []

    async def hook() -> None:
        fired.append("committed")

    async with unit_of_work(maker) as session:
        session.add(AuditEvent(action="test.hook", details={}))
        after_commit(hook)
        assert fired == []
    assert fired == ["committed"]

    with pytest.raises(RuntimeError):
        async with unit_of_work(maker) as session:
            session.add(AuditEvent(action="test.rollback", details={}))
            after_commit(hook)
            raise RuntimeError("boom")
    assert fired == ["committed"]
    async with unit_of_work(maker) as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "test.rollback")
            )
            == 0
        )
    await engine.dispose()


def test_after_commit_outside_unit_of_work_is_refused() -> None:
    async def hook() -> None:
        return None

    with pytest.raises(RuntimeError):
        after_commit(hook)


async def test_after_transaction_runs_on_commit_and_on_rollback(settings: Settings) -> None:
    from lxc_manager.core.db import after_transaction, in_unit_of_work

    engine = create_engine(settings.effective_database_url)
    maker = create_sessionmaker(engine)
    ended: list[str] = []

    async def note() -> None:
        ended.append("ended")

    assert not in_unit_of_work()
    with pytest.raises(RuntimeError):
        async with unit_of_work(maker) as session:
            await session.scalar(select(func.count()).select_from(AuditEvent))  # holds the SQLite write lock
            after_transaction(note)
            raise RuntimeError("boom")
    assert ended == ["ended"]
    await engine.dispose()


async def test_detached_audit_inside_a_writing_unit_survives_rollback_without_deadlock(settings: Settings) -> None:
    """On SQLite a second writer waits for the first: detached records must wait for the unit to end."""
    from lxc_manager.audit.service import record_detached

    engine = create_engine(settings.effective_database_url)
    maker = create_sessionmaker(engine)
    with pytest.raises(RuntimeError):
        async with unit_of_work(maker) as session:
            session.add(AuditEvent(action="test.rolled_back", details={}))
            await session.flush()
            await asyncio.wait_for(record_detached(maker, "test.denied", outcome="denied"), 5)
            raise RuntimeError("boom")
    async with unit_of_work(maker) as session:
        actions = set((await session.scalars(select(AuditEvent.action))).all())
    assert actions == {"test.denied"}
    await engine.dispose()
