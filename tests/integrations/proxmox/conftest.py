"""Fixtures for the PVE client tests: a scripted PVE (httpx.MockTransport handler app) and a schema check of every
request the tests' clients send (``pve_conformance``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pve_fake import SHARED_PVE_API, ClientFactory, FakePVE

from lxc_manager.integrations.proxmox import ProxmoxClient
from pve_conformance import conformance_errors, schema_or_none


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "pve_nonconformant: the test sends requests PVE's schema rejects on purpose")


@pytest.fixture
def fake() -> FakePVE:
    return FakePVE()


@pytest.fixture
async def make_client(request: pytest.FixtureRequest) -> AsyncIterator[ClientFactory]:
    """Builds clients over the fake PVE; at teardown every request they sent is validated against apidata.json."""
    factory = ClientFactory()
    yield factory
    for client in factory.clients:
        await client.aclose()
    records = [r for t in factory.transports for r in t.records]
    schema = schema_or_none()  # absent schema: test_pve_conformance.py reports the skip
    if records and schema is not None and request.node.get_closest_marker("pve_nonconformant") is None:
        problems = conformance_errors(schema, records)
        assert not problems, "requests PVE would reject:\n" + "\n".join(problems)


@pytest.fixture
def client(fake: FakePVE, make_client: ClientFactory) -> ProxmoxClient:
    return make_client(fake)


@pytest.fixture
def fixtures_dir() -> Iterator[Path]:
    folder = SHARED_PVE_API / "fixtures"
    if not folder.is_dir():
        pytest.skip(f"PVE fixtures not available at {folder} (../shared/pve-api is absent)")
    yield folder
