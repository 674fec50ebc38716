"""Fixtures for the PVE simulator tests. The official schema is read from ../shared/pve-api (AGPL, not vendored).

Shared helpers live in ``simkit.py``: import them from there, not from ``conftest`` (several test folders have a
``conftest`` module, so that name is ambiguous when the whole suite runs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from simkit import CONTROL, Pve, make_simulator

from lxc_manager.pvesim.app import create_app
from lxc_manager.pvesim.schema import ApiSchema, SchemaUnavailable, resolve_schema_path


@pytest.fixture(scope="session")
def pve_schema() -> ApiSchema:
    path = resolve_schema_path()
    try:
        return ApiSchema.load(path)
    except SchemaUnavailable as exc:
        pytest.skip(f"PVE API schema not available, simulator tests skipped: {exc}")


@pytest.fixture
async def pve(pve_schema: ApiSchema, tmp_path: Path) -> AsyncIterator[Pve]:
    sim = make_simulator(pve_schema, tmp_path)
    app = create_app(sim, CONTROL, "AA:BB")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://sim") as client:
        yield Pve(sim, client)
    await sim.tasks.shutdown()
