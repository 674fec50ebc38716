"""A canary secret stored through the API never shows up in a response, a log line, or the database in plaintext."""

from __future__ import annotations

from pathlib import Path

import asyncssh
import httpx
import pytest
from fastapi import FastAPI
from node_fakes import CANARY_TOKEN_SECRET, FakePVE, node_payload
from sqlalchemy import select

from helpers import create_user
from lxc_manager.core.config import Settings
from lxc_manager.core.db import is_sqlite, unit_of_work
from lxc_manager.core.logging import configure_logging
from lxc_manager.models import Base

SECOND_CANARY = "CANARY-second-0b7e4c1d"


async def test_canary_secrets_leak_nowhere(
    app: FastAPI,
    settings: Settings,
    admin_client: httpx.AsyncClient,
    fake_pve: FakePVE,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    configure_logging("DEBUG", json=True)  # bind the log output to this test's captured stderr, most verbose
    private_key = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    key_canaries = [line for line in private_key.splitlines() if not line.startswith("-----")]
    canaries = [CANARY_TOKEN_SECRET, SECOND_CANARY, *key_canaries]

    responses: list[httpx.Response] = []
    body = node_payload(fake_pve, ssh_host="127.0.0.1", ssh_private_key=private_key)
    created = await admin_client.post("/api/v1/nodes", json=body)
    assert created.status_code == 201, created.text
    node_id = created.json()["id"]
    other_user = await create_user(app, "operator-1", role="operator")
    responses += [
        created,
        await admin_client.post("/api/v1/nodes", json=body),  # 409 duplicate
        await admin_client.post("/api/v1/nodes", json={**body, "name": "x", "token_id": "bad"}),  # 422
        await admin_client.post(
            "/api/v1/nodes", json={**body, "name": "y", "token_secret": CANARY_TOKEN_SECRET + " \n"}
        ),
        await admin_client.post("/api/v1/nodes", json={**body, "name": "z", "api_url": "https://169.254.169.254"}),
        await admin_client.get("/api/v1/nodes"),
        await admin_client.get(f"/api/v1/nodes/{node_id}"),
        await admin_client.patch(f"/api/v1/nodes/{node_id}", json={"ssh_port": 2200}),
        await admin_client.post(f"/api/v1/nodes/{node_id}/test"),
        await admin_client.patch(f"/api/v1/nodes/{node_id}", json={"token_secret": SECOND_CANARY}),
        await admin_client.post(f"/api/v1/nodes/{node_id}/test"),  # now the wrong secret: authentication fails
        await admin_client.post("/api/v1/nodes/probe-certificate", json={"api_url": fake_pve.url}),
        await admin_client.put(f"/api/v1/nodes/{node_id}/access", json={"user_ids": [other_user]}),
        await admin_client.get(f"/api/v1/nodes/{node_id}/access"),
        await admin_client.get("/api/v1/audit", params={"limit": 500}),
        await admin_client.get("/openapi.json"),
    ]
    authentication = [{c["name"]: c["ok"] for c in responses[i].json()["checks"]}["authentication"] for i in (8, 10)]
    assert authentication == [True, False]  # the first test used the canary secret, the second the new one
    assert fake_pve.requests, "the node test really talked to the fake PVE"

    for response in responses:
        for canary in canaries:
            assert canary not in response.text, f"{response.request.method} {response.request.url} leaked a secret"

    captured = capsys.readouterr()
    with capsys.disabled():
        configure_logging(settings.log_level, settings.log_json)  # unbind from the capture before it closes
    logs = captured.err + captured.out + caplog.text
    assert '"event": "request"' in logs and '"action": "node.test"' in logs  # the capture saw the app's lines
    for canary in canaries:
        assert canary not in logs

    # The database: every column of every table, and for SQLite the raw file bytes (main file and WAL).
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        for table in Base.metadata.sorted_tables:
            rows = (await db.execute(select(table))).all()
            dump = repr(rows)
            for canary in canaries:
                assert canary not in dump, f"table {table.name} holds a secret in plaintext"
    if is_sqlite(settings.effective_database_url):
        path = Path(settings.effective_database_url.split("///", 1)[1])
        raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        assert raw, "the database file was read"
        for canary in canaries:
            assert canary.encode() not in raw
