"""Property-based run over the whole API (schemathesis): no 5xx, and every response conforms to the
OpenAPI document (declared status codes, content types, schemas). Runs as an admin API token, against the
real app under uvicorn on 127.0.0.1, with outbound connections restricted to loopback.

``LXCM_SCHEMATHESIS_EXAMPLES`` sets the examples per operation (default 25).
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from network_guard import loopback_only
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from live_server import serve_in_thread
from lxc_manager.auth.passwords import hash_password
from lxc_manager.core.config import Environment, Settings
from lxc_manager.core.db import create_engine, create_sessionmaker, unit_of_work
from lxc_manager.main import create_app
from lxc_manager.models import APIToken, Role, User
from lxc_manager.tokens import format as token_format

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("LXCM_SCHEMATHESIS_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


async def _seed_admin_token(settings: Settings) -> str:
    engine = create_engine(settings.effective_database_url)
    plaintext, parts = token_format.generate()
    try:
        async with unit_of_work(create_sessionmaker(engine)) as db:
            admin = User(
                username="fuzz-admin", password_hash=hash_password("fuzz admin password"), role=Role.admin.value
            )
            db.add(admin)
            await db.flush()
            db.add(
                APIToken(
                    user_id=admin.id,
                    name="schemathesis",
                    lookup=parts.lookup,
                    secret_hash=token_format.hash_secret(parts.secret),
                    scopes="read write admin",
                )
            )
    finally:
        await engine.dispose()
    return plaintext


async def _truncate(url: str) -> None:
    from sqlalchemy import text

    from lxc_manager.models import Base

    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {tables} CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """The app under uvicorn on the test database (SQLite, or PostgreSQL with LXCM_TEST_DB=postgres)."""
    workdir = tmp_path_factory.mktemp("schemathesis")
    if os.environ.get("LXCM_TEST_DB", "sqlite") == "postgres":
        database_url: str = request.getfixturevalue("postgres_migrated")
        asyncio.run(_truncate(database_url))
    else:
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, workdir / "api.db")
        database_url = f"sqlite+aiosqlite:///{workdir / 'api.db'}"
    (workdir / "data").mkdir()
    settings = Settings(
        environment=Environment.test,
        data_dir=workdir / "data",
        database_url=database_url,
        secret_key=base64.b64encode(b"s" * 32).decode(),  # type: ignore[arg-type]
        login_max_delay_s=0.05,
        log_level="WARNING",
    )
    token = asyncio.run(_seed_admin_token(settings))
    app = create_app(settings)
    with loopback_only(), serve_in_thread(app) as base_url:
        yield {"base_url": base_url, "token": token}


def _spec() -> dict[str, Any]:
    """The app's OpenAPI document (building the app touches no database; the lifespan is not run)."""
    settings = Settings(environment=Environment.test, secret_key=base64.b64encode(b"s" * 32).decode())  # type: ignore[arg-type]
    spec: dict[str, Any] = create_app(settings).openapi()
    return spec


schema = schemathesis.openapi.from_dict(_spec())


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_api_conforms_and_never_fails(case: Any, live_api: dict[str, Any]) -> None:
    case.call_and_validate(
        base_url=live_api["base_url"],
        headers={"Authorization": f"Bearer {live_api['token']}"},
        checks=CHECKS,
    )
