"""Alembic migrations are the only way the schema is made: the migrated schema must equal the models."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from lxc_manager.core.db import create_engine
from lxc_manager.core.migrate import upgrade_to_head
from lxc_manager.models import Base


def _diff(url: str) -> list[Any]:
    async def run() -> list[Any]:
        engine = create_engine(url)

        def compare(conn: Connection) -> list[Any]:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))

        async with engine.connect() as conn:
            result = await conn.run_sync(compare)
        await engine.dispose()
        return result

    return asyncio.run(run())


def test_sqlite_migrated_schema_equals_models(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'schema.db'}"
    upgrade_to_head(url)
    assert _diff(url) == []


@pytest.mark.postgres
def test_postgres_migrated_schema_equals_models(postgres_server_url: str) -> None:
    from pg_databases import drop_pg_database, make_pg_database

    url = make_pg_database(postgres_server_url, "lxcm_schema_check")
    try:
        upgrade_to_head(url)
        assert _diff(url) == []
    finally:
        drop_pg_database(postgres_server_url, "lxcm_schema_check")


def test_upgrade_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'twice.db'}"
    upgrade_to_head(url)
    upgrade_to_head(url)
    assert _diff(url) == []
