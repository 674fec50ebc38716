"""Shared fixtures: a migrated database per test (SQLite by default, PostgreSQL with LXCM_TEST_DB=postgres),
the real app over ASGI, and checks for the real services (mandatory under CI=true)."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from lxc_manager.core.config import Environment, Settings  # noqa: E402
from lxc_manager.core.migrate import upgrade_to_head  # noqa: E402
from lxc_manager.main import create_app  # noqa: E402
from pg_databases import drop_pg_database, make_pg_database  # noqa: E402

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_URL = os.environ.get("LXCM_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("LXCM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_DB = os.environ.get("LXCM_TEST_DB", "sqlite")
TEST_SECRET_KEY = base64.b64encode(b"k" * 32).decode()


def service_missing(what: str, why: str) -> None:
    """Skip with a clear message, or fail under CI where the real services are mandatory."""
    message = f"{what} is not available ({why}); start it (see README 'Tests') or unset the test"
    if CI:
        pytest.fail(f"CI=true requires {message}", pytrace=False)
    pytest.skip(message)


async def _pg_alive(url: str) -> str | None:
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        conn = await asyncio.wait_for(asyncpg.connect(dsn), 3)
    except Exception as exc:
        return str(exc) or type(exc).__name__
    await conn.close()
    return None


async def _redis_alive(url: str) -> str | None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(url)
    try:
        await asyncio.wait_for(client.ping(), 3)
    except Exception as exc:
        return str(exc) or type(exc).__name__
    finally:
        await client.aclose()
    return None


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """URL of the maintenance DB of a real PostgreSQL server."""
    problem = asyncio.run(_pg_alive(PG_URL))
    if problem:
        service_missing("PostgreSQL", problem)
    return PG_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    problem = asyncio.run(_redis_alive(REDIS_URL))
    if problem:
        service_missing("Redis", problem)
    return REDIS_URL


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade_to_head(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated(postgres_server_url: str) -> Iterator[str]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"lxcm_test_{worker}_{os.getpid()}"
    url = make_pg_database(postgres_server_url, name)
    upgrade_to_head(url)
    yield url
    drop_pg_database(postgres_server_url, name)


async def _truncate_all(url: str) -> None:
    from sqlalchemy import text

    from lxc_manager.core.db import create_engine
    from lxc_manager.models import Base

    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} CASCADE"))
    await engine.dispose()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated, empty database for this test."""
    if TEST_DB == "postgres":
        url: str = request.getfixturevalue("postgres_migrated")
        asyncio.run(_truncate_all(url))
        return url
    template: Path = request.getfixturevalue("sqlite_template")
    target = tmp_path / "test.db"
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    # A private copy of the repository's templates and buckets: API writes must never touch the checkout.
    lxc_tree = tmp_path / "lxc"
    for part in ("templates", "buckets"):
        shutil.copytree(ROOT / "infra" / "lxc" / part, lxc_tree / part, symlinks=True)
    return Settings(
        environment=Environment.test,
        data_dir=data_dir,
        templates_dir=lxc_tree / "templates",
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,  # type: ignore[arg-type]
        log_json=True,
        login_max_delay_s=0.05,
        frontend_dir=tmp_path / "frontend-not-built",  # the SPA tests bring their own build
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def app_state(app: FastAPI) -> Any:
    return app.state.lxcm
