"""Authorization matrix: every operation x anonymous / viewer / operator (no node grants) / admin /
admin's read-only token. Denials are 401/403 in the error shape, and each 403 writes an audit row."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from security_routes import Operation, operations
from sqlalchemy import func, select

from helpers import bearer, create_token, login_as, new_client
from lxc_manager.core.db import unit_of_work
from lxc_manager.models import AuditEvent

ROLE_SCOPES = {"viewer": {"read"}, "operator": {"read", "write"}, "admin": {"read", "write", "admin"}}


async def denied_count(app: FastAPI) -> int:
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        count = await db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "auth.denied"))
    return int(count or 0)


def ordered(ops: list[Operation]) -> list[Operation]:
    # Logging out ends the session the rest of the matrix runs on.
    return sorted(ops, key=lambda op: op.operation_id == "logout")


@pytest.fixture
async def callers(app: FastAPI) -> AsyncIterator[dict[str, tuple[httpx.AsyncClient, set[str]]]]:
    clients: dict[str, tuple[httpx.AsyncClient, set[str]]] = {}
    opened = []
    for role in ("viewer", "operator", "admin"):
        http = new_client(app)
        opened.append(http)
        await login_as(app, http, role=role)
        clients[role] = (http, ROLE_SCOPES[role])
    token_client = new_client(app)
    opened.append(token_client)
    admin_id = (await clients["admin"][0].get("/api/v1/auth/me")).json()["user"]["id"]
    token_client.headers.update(bearer(await create_token(app, admin_id, scopes=("read",))))
    clients["admin_read_token"] = (token_client, {"read"})
    yield clients
    for http in opened:
        await http.aclose()


async def test_matrix(
    app: FastAPI, client: httpx.AsyncClient, callers: dict[str, tuple[httpx.AsyncClient, set[str]]]
) -> None:
    ops = ordered([op for op in operations(app) if op.path.startswith("/api/v1") and op.authenticated])
    assert len(ops) >= 15
    cells = 0
    problems: list[str] = []
    for op in ops:
        body = {} if op.unsafe else None
        anonymous = await client.request(op.method, op.url(), json=body)
        if anonymous.status_code != 401 or anonymous.json().get("error") not in {"not_authenticated", "invalid_token"}:
            problems.append(f"anonymous {op.method} {op.path}: {anonymous.status_code}")
        cells += 1
        for name, (http, scopes) in callers.items():
            before = await denied_count(app)
            response = await http.request(op.method, op.url(), json=body)
            allowed = op.scope is None or op.scope in scopes
            cells += 1
            if response.status_code >= 500:
                problems.append(f"{name} {op.method} {op.path}: {response.status_code} {response.text[:200]}")
            elif allowed and response.status_code in (401, 403):
                problems.append(
                    f"{name} {op.method} {op.path}: allowed but got {response.status_code} {response.text[:200]}"
                )
            elif not allowed:
                if response.status_code != 403 or response.json().get("error") != "forbidden":
                    problems.append(f"{name} {op.method} {op.path}: expected 403, got {response.status_code}")
                elif await denied_count(app) != before + 1:
                    problems.append(f"{name} {op.method} {op.path}: denial not audited")
    assert not problems, "\n".join(problems)
    assert cells == len(ops) * 5


async def test_every_authenticated_operation_declares_401_and_403(app: FastAPI) -> None:
    missing = []
    for op in operations(app):
        if not op.authenticated:
            continue
        declared = set(op.spec["responses"])
        needed = {"401"} | ({"403"} if op.scope or op.unsafe else set())
        if not needed <= declared:
            missing.append(f"{op.method.upper()} {op.path} lacks {sorted(needed - declared)}")
    assert not missing, "\n".join(missing)
