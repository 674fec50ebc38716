"""Fixtures shared by the template and bucket tests: a copy of the repository's infra/lxc tree in a temp folder."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from lxc_manager.core.config import Environment, Settings

ROOT = Path(__file__).resolve().parents[1]
REPO_LXC = ROOT / "infra" / "lxc"
TEST_SECRET_KEY = "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="


@pytest.fixture
def lxc_tree(tmp_path: Path) -> Path:
    """A writable copy of the repository's `minimal` template and `base` bucket (other templates evolve)."""
    tree = tmp_path / "lxc"
    shutil.copytree(REPO_LXC / "templates" / "minimal", tree / "templates" / "minimal", symlinks=True)
    (tree / "buckets").mkdir()
    shutil.copy2(REPO_LXC / "buckets" / "base.yaml", tree / "buckets" / "base.yaml")
    return tree


@pytest.fixture
def settings(tmp_path: Path, database_url: str, lxc_tree: Path) -> Settings:
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    return Settings(
        environment=Environment.test,
        data_dir=data_dir,
        database_url=database_url,
        secret_key=SecretStr(TEST_SECRET_KEY),
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
