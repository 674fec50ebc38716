"""Fixtures for the PVE simulator tests. The official schema is read from ../shared/pve-api (AGPL, not vendored)."""

from __future__ import annotations

import pytest

from lxc_manager.pvesim.schema import ApiSchema, SchemaUnavailable, resolve_schema_path


@pytest.fixture(scope="session")
def pve_schema() -> ApiSchema:
    path = resolve_schema_path()
    try:
        return ApiSchema.load(path)
    except SchemaUnavailable as exc:
        pytest.skip(f"PVE API schema not available, simulator tests skipped: {exc}")
