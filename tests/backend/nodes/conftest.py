"""Fixtures for the node registry tests: a fake PVE over TLS on 127.0.0.1 and a logged-in admin."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from node_fakes import FakePVE, make_certificate, serve_tls

from helpers import login_as, new_client


@pytest.fixture
async def fake_pve(tmp_path: Path) -> AsyncIterator[FakePVE]:
    pve = FakePVE(certificate=make_certificate())
    directory = tmp_path / "fake-pve"
    directory.mkdir()
    assert pve.certificate is not None
    pve.url, server, task = await serve_tls(pve.app(), pve.certificate, directory)
    try:
        yield pve
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def admin_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A browser logged in as an admin (session cookie + X-CSRF-Token default header)."""
    async with new_client(app) as http:
        await login_as(app, http, "root", role="admin")
        yield http
