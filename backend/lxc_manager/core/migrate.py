"""Run alembic programmatically (used by the CLI, start-up and tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from lxc_manager.core.config import REPO_ROOT


def alembic_config(database_url: str | None = None) -> Config:
    cfg = Config(str(REPO_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    if database_url:
        cfg.attributes["database_url"] = database_url
    return cfg


def upgrade_to_head(database_url: str | None = None) -> None:
    """Blocking; runs its own event loop, so call it from a thread when a loop is running."""
    command.upgrade(alembic_config(database_url), "head")
