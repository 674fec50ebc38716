"""Async engine and sessions. The request or job owns the transaction; helpers only flush.

SQLite runs in WAL mode with a busy timeout, and every transaction starts with ``BEGIN IMMEDIATE``:
a deferred transaction that later upgrades to a write bypasses the busy handler and fails with
"database is locked" under concurrent writers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from lxc_manager.core.logging import get_logger

log = get_logger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000

AfterCommit = Callable[[], Awaitable[None]]
_after_commit: ContextVar[list[AfterCommit] | None] = ContextVar("after_commit", default=None)
_after_end: ContextVar[list[AfterCommit] | None] = ContextVar("after_end", default=None)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if is_sqlite(url):
        engine = create_async_engine(
            url,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            pool_size=5,
            max_overflow=10,
        )
        _configure_sqlite(engine)
        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _: Any) -> None:
        # Let us emit BEGIN ourselves (pysqlite's implicit BEGIN is deferred).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def after_commit(callback: AfterCommit) -> None:
    """Run ``callback`` once the current unit of work has committed; dropped on rollback.

    Outside a unit of work (no transaction scope) it is an error: jobs and events must never
    be sent for data that may still roll back.
    """
    pending = _after_commit.get()
    if pending is None:
        raise RuntimeError("after_commit() called outside a unit of work")
    pending.append(callback)


def in_unit_of_work() -> bool:
    return _after_end.get() is not None


def after_transaction(callback: AfterCommit) -> None:
    """Run ``callback`` once the current unit of work has ended, whether it committed or rolled back.

    For records that must survive a rollback (denials, failed logins). On SQLite a second writer
    cannot start while this unit of work holds its write lock, so such writes wait for it to end.
    """
    pending = _after_end.get()
    if pending is None:
        raise RuntimeError("after_transaction() called outside a unit of work")
    pending.append(callback)


@asynccontextmanager
async def unit_of_work(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits on success and rolls back on error; then runs after-commit hooks."""
    pending: list[AfterCommit] = []
    ended: list[AfterCommit] = []
    token = _after_commit.set(pending)
    end_token = _after_end.set(ended)
    try:
        async with sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
    finally:
        _after_commit.reset(token)
        _after_end.reset(end_token)
        await _run_callbacks(ended, "after_transaction_failed")
    await _run_callbacks(pending, "after_commit_failed")


async def _run_callbacks(callbacks: list[AfterCommit], failure_event: str) -> None:
    for callback in callbacks:
        try:
            await callback()
        except Exception:
            log.exception(failure_event)
