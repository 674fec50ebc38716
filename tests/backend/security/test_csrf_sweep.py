"""Every non-GET operation, sent cross-site or without the CSRF header or as a text/plain form, is refused."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from security_routes import operations

from helpers import login_as

EVIL = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}


async def test_cookie_writes_need_csrf_and_same_origin(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await login_as(app, client, role="admin")
    del client.headers["X-CSRF-Token"]
    unsafe = [op for op in operations(app) if op.unsafe and op.authenticated]
    assert len(unsafe) >= 10
    problems = []
    for op in unsafe:
        attempts = {
            "no header": await client.request(op.method, op.url(), json={}),
            "wrong header": await client.request(op.method, op.url(), json={}, headers={"X-CSRF-Token": "x" * 43}),
            "cross-site with token": await client.request(
                op.method, op.url(), json={}, headers={"X-CSRF-Token": admin.csrf_token, **EVIL}
            ),
            "text/plain form": await client.request(
                op.method, op.url(), content="a=b", headers={"Content-Type": "text/plain"}
            ),
        }
        for label, response in attempts.items():
            if response.status_code != 403 or response.json().get("error") != "csrf_failed":
                problems.append(f"{op.method.upper()} {op.path} [{label}]: {response.status_code}")
    assert not problems, "\n".join(problems)
    # The session survived all of it.
    assert (await client.get("/api/v1/auth/me")).status_code == 200


async def test_public_writes_refuse_cross_site(app: FastAPI, client: httpx.AsyncClient) -> None:
    public_unsafe = [op for op in operations(app) if op.unsafe and not op.authenticated]
    assert any(op.operation_id == "login" for op in public_unsafe)
    for op in public_unsafe:
        cross_site = await client.request(op.method, op.url(), json={"username": "a", "password": "b"}, headers=EVIL)
        assert cross_site.status_code == 403, op.path
        form = await client.request(
            op.method,
            op.url(),
            content="username=a&password=b",
            headers={"Content-Type": "application/x-www-form-urlencoded", **EVIL},
        )
        assert form.status_code in (403, 415), op.path
        assert "set-cookie" not in form.headers
