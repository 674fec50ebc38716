from __future__ import annotations

import pytest
from pydantic import ValidationError

from lxc_manager.core.config import Environment, Settings


def test_placeholder_secret_refused_outside_development() -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(environment=Environment.production, secret_key="changeme")  # type: ignore[arg-type]


def test_placeholder_secret_allowed_in_development() -> None:
    Settings(environment=Environment.development, secret_key="changeme")  # type: ignore[arg-type]


def test_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LXCM_DATABASE_URL", "postgresql+asyncpg://u@h/db")
    monkeypatch.setenv("LXCM_REDIS_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("LXCM_DATA_DIR", "/tmp/lxcm-data")
    settings = Settings()
    assert settings.effective_database_url == "postgresql+asyncpg://u@h/db"
    assert settings.redis_url == "redis://127.0.0.1:6379/3"
    assert str(settings.data_dir) == "/tmp/lxcm-data"


def test_default_database_is_sqlite_under_data_dir(tmp_path: object) -> None:
    settings = Settings(data_dir="/srv/lxcm")  # type: ignore[arg-type]
    assert settings.effective_database_url == "sqlite+aiosqlite:////srv/lxcm/lxc-manager.db"
