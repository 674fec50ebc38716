"""``lxc-manager create-admin --username U --password-stdin`` through ``cli.main``."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from sqlalchemy import select, update

from lxc_manager import cli
from lxc_manager.auth.passwords import verify_password
from lxc_manager.core.config import Settings, get_settings
from lxc_manager.core.db import create_engine, create_sessionmaker, unit_of_work
from lxc_manager.models import User


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    monkeypatch.setenv("LXCM_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("LXCM_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LXCM_ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield settings  # type: ignore[misc]
    get_settings.cache_clear()


def run_cli(monkeypatch: pytest.MonkeyPatch, stdin: str, *args: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(["create-admin", *args])


def load_user(settings: Settings, username: str) -> User | None:
    async def query() -> User | None:
        engine = create_engine(settings.effective_database_url)
        try:
            async with unit_of_work(create_sessionmaker(engine)) as db:
                return await db.scalar(select(User).where(User.username == username))
        finally:
            await engine.dispose()

    return asyncio.run(query())


def demote(settings: Settings, username: str) -> None:
    async def change() -> None:
        engine = create_engine(settings.effective_database_url)
        try:
            async with unit_of_work(create_sessionmaker(engine)) as db:
                await db.execute(update(User).where(User.username == username).values(role="viewer", is_active=False))
        finally:
            await engine.dispose()

    asyncio.run(change())


def test_creates_then_resets_an_admin(
    cli_env: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(monkeypatch, "first password 1\n", "--username", "root", "--password-stdin") == 0
    user = load_user(cli_env, "root")
    assert user is not None and user.role == "admin" and user.is_active
    assert user.password_hash and verify_password(user.password_hash, "first password 1")

    # An existing viewer, disabled: reset makes it an active admin with the new password.
    demote(cli_env, "root")
    assert run_cli(monkeypatch, "second password 2\r\n", "--username", "root", "--password-stdin") == 0
    user = load_user(cli_env, "root")
    assert user is not None and user.role == "admin" and user.is_active
    assert user.password_hash and verify_password(user.password_hash, "second password 2")
    captured = capsys.readouterr()
    assert "first password" not in captured.err + captured.out
    assert "second password" not in captured.err + captured.out


@pytest.mark.parametrize(
    ("stdin", "username", "message"),
    [
        ("short\n", "root", "at least 10"),
        ("rootroot00\n", "bad name", "invalid username"),
        ("Administrator\n", "administrator", "username"),
    ],
)
def test_refuses_bad_input(
    cli_env: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stdin: str,
    username: str,
    message: str,
) -> None:
    assert run_cli(monkeypatch, stdin, "--username", username, "--password-stdin") == 2
    assert message in capsys.readouterr().err
    assert load_user(cli_env, username) is None


def test_requires_password_stdin(cli_env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli(monkeypatch, "whatever password\n", "--username", "root") == 2


def test_unmigrated_database_says_run_migrate(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LXCM_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("LXCM_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert run_cli(monkeypatch, "good password 1\n", "--username", "root", "--password-stdin") == 1
    finally:
        get_settings.cache_clear()
    assert "lxc-manager migrate" in capsys.readouterr().err
