"""docs/configuration.md must list every setting, so the docs stay true."""

from __future__ import annotations

from lxc_manager.core.config import REPO_ROOT, Settings


def test_every_setting_is_documented() -> None:
    text = (REPO_ROOT / "docs" / "configuration.md").read_text()
    missing = [name for name in Settings.model_fields if f"LXCM_{name.upper()}" not in text]
    assert missing == [], f"document these settings in docs/configuration.md: {missing}"
