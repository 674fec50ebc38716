"""Template tests run against a copy of the repository's infra/lxc tree in a temp folder (never the repo)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from lxc_manager.core.config import Environment, Settings

ROOT = Path(__file__).resolve().parents[3]
REPO_LXC = ROOT / "infra" / "lxc"
TEST_SECRET_KEY = "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="


@pytest.fixture
def lxc_tree(tmp_path: Path) -> Path:
    """A writable copy of infra/lxc/{templates,buckets}."""
    tree = tmp_path / "lxc"
    shutil.copytree(REPO_LXC / "templates", tree / "templates", symlinks=True)
    shutil.copytree(REPO_LXC / "buckets", tree / "buckets", symlinks=True)
    return tree


@pytest.fixture
def settings(tmp_path: Path, database_url: str, lxc_tree: Path) -> Settings:
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    return Settings(
        environment=Environment.test,
        data_dir=data_dir,
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,  # type: ignore[arg-type]
        log_json=True,
        login_max_delay_s=0.05,
        templates_dir=lxc_tree / "templates",
    )


@pytest.fixture
async def writer(app: FastAPI, client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """``client`` logged in as an operator (write scope), CSRF header set."""
    from helpers import login_as

    await login_as(app, client, "op", role="operator")
    yield client
