"""CSRF token, Fetch-metadata/Origin checks, JSON-only login, scope denials (audited)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from helpers import DEFAULT_PASSWORD, bearer, create_token, create_user, login
from lxc_manager.core.config import Settings
from lxc_manager.core.db import unit_of_work
from lxc_manager.main import create_app
from lxc_manager.models import AuditEvent

LOGOUT = "/api/v1/auth/logout"
LOGIN = "/api/v1/auth/login"


async def audit_rows(app: FastAPI, action: str) -> list[AuditEvent]:
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        return list((await db.scalars(select(AuditEvent).where(AuditEvent.action == action))).all())


@pytest.mark.parametrize("csrf_header", [None, "", "wrong-token"])
async def test_cookie_write_without_valid_csrf_token_is_403(
    app: FastAPI, client: httpx.AsyncClient, csrf_header: str | None
) -> None:
    await create_user(app, "alice")
    await login(client, "alice")
    headers = {} if csrf_header is None else {"X-CSRF-Token": csrf_header}
    response = await client.post(LOGOUT, headers=headers)
    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"
    # Still signed in: the refused request changed nothing.
    assert (await client.get("/api/v1/auth/me")).status_code == 200
    events = await audit_rows(app, "auth.csrf_failed")
    assert len(events) == 1 and events[0].outcome == "denied"


async def test_csrf_token_of_another_session_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    await create_user(app, "alice")
    await create_user(app, "mallory")
    await login(client, "alice")
    from helpers import new_client

    async with new_client(app) as other:
        mallory_csrf = await login(other, "mallory")
    response = await client.post(LOGOUT, headers={"X-CSRF-Token": mallory_csrf})
    assert response.status_code == 403


async def test_bearer_write_needs_no_csrf(app: FastAPI, client: httpx.AsyncClient) -> None:
    user_id = await create_user(app, "alice")
    token = await create_token(app, user_id, scopes=("read",))
    response = await client.post(LOGOUT, headers=bearer(token))
    assert response.status_code == 204


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://testserver.evil.example"},
    ],
)
async def test_cross_site_cookie_write_is_refused_even_with_token(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await create_user(app, "alice")
    csrf = await login(client, "alice")
    response = await client.post(LOGOUT, headers={"X-CSRF-Token": csrf, **headers})
    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"


@pytest.mark.parametrize(
    "headers", [{"Origin": "http://testserver"}, {"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "same-site"}]
)
async def test_same_origin_cookie_write_is_accepted(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await create_user(app, "alice")
    csrf = await login(client, "alice")
    response = await client.post(LOGOUT, headers={"X-CSRF-Token": csrf, **headers})
    assert response.status_code == 204


async def test_trusted_origin_is_accepted(settings: Settings) -> None:
    from helpers import new_client

    settings = settings.model_copy(update={"trusted_origins": ["https://dashboard.example.com/"]})
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        await create_user(application, "alice")
        async with new_client(application) as http:
            response = await http.post(
                LOGIN,
                json={"username": "alice", "password": DEFAULT_PASSWORD},
                headers={"Origin": "https://dashboard.example.com"},
            )
            assert response.status_code == 200


async def test_get_is_not_blocked_by_cross_site_headers(app: FastAPI, client: httpx.AsyncClient) -> None:
    await create_user(app, "alice")
    await login(client, "alice")
    response = await client.get(
        "/api/v1/auth/me", headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://x.example"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", '{"username": "alice", "password": "correct-horse-battery-staple"}'),
        ("application/x-www-form-urlencoded", "username=alice&password=correct-horse-battery-staple"),
        (
            "multipart/form-data; boundary=x",
            "--x\r\nContent-Disposition: form-data; name=username\r\n\r\nalice\r\n--x--",
        ),
    ],
)
async def test_form_style_login_post_is_refused(
    app: FastAPI, client: httpx.AsyncClient, content_type: str, body: str
) -> None:
    await create_user(app, "alice")
    response = await client.post(LOGIN, content=body, headers={"Content-Type": content_type})
    assert response.status_code in (415, 422)
    assert "set-cookie" not in response.headers


async def test_cross_site_login_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    await create_user(app, "alice")
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = await client.post(LOGIN, json={"username": "alice", "password": DEFAULT_PASSWORD}, headers=headers)
        assert response.status_code == 403
        assert "set-cookie" not in response.headers


async def test_anonymous_gets_401(client: httpx.AsyncClient) -> None:
    for method, url in (("GET", "/api/v1/auth/me"), ("POST", LOGOUT), ("GET", "/api/v1/audit")):
        response = await client.request(method, url)
        assert response.status_code == 401, url
        assert response.json()["error"] == "not_authenticated"


@pytest.mark.parametrize("authorization", ["Basic abc", "Bearer", "Bearer lxcm_nope", "Token x", "Bearer " + "a" * 600])
async def test_malformed_bearer_is_401(client: httpx.AsyncClient, authorization: str) -> None:
    response = await client.get("/api/v1/auth/me", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_missing_scope_is_403_and_audited(app: FastAPI, client: httpx.AsyncClient) -> None:
    viewer_id = await create_user(app, "vera", role="viewer")
    await login(client, "vera")
    response = await client.get("/api/v1/audit")
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    events = await audit_rows(app, "auth.denied")
    assert len(events) == 1
    event = events[0]
    assert (event.actor_id, event.outcome, event.details["scope"], event.details["path"]) == (
        viewer_id,
        "denied",
        "admin",
        "/api/v1/audit",
    )


async def test_token_scopes_are_capped_by_current_role(app: FastAPI, client: httpx.AsyncClient) -> None:
    from sqlalchemy import update

    from lxc_manager.models import User

    admin_id = await create_user(app, "root", role="admin")
    token = await create_token(app, admin_id, scopes=("read", "admin"))
    me = await client.get("/api/v1/auth/me", headers=bearer(token))
    assert me.json()["scopes"] == ["read", "admin"]
    assert me.json()["via"] == "token"
    assert (await client.get("/api/v1/audit", headers=bearer(token))).status_code == 200
    # Demotion shrinks the token at once.
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        await db.execute(update(User).where(User.id == admin_id).values(role="viewer"))
    me = await client.get("/api/v1/auth/me", headers=bearer(token))
    assert me.json()["scopes"] == ["read"]
    assert (await client.get("/api/v1/audit", headers=bearer(token))).status_code == 403
    # Disabling kills it.
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        await db.execute(update(User).where(User.id == admin_id).values(is_active=False))
    assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 401


async def test_foreign_authorization_scheme_falls_back_to_the_session(app: FastAPI, client: httpx.AsyncClient) -> None:
    """A reverse proxy's Basic auth header must not break cookie sessions behind it."""
    await create_user(app, "alice")
    await login(client, "alice")
    response = await client.get("/api/v1/auth/me", headers={"Authorization": "Basic cHJveHk6cGFzcw=="})
    assert response.status_code == 200
    assert response.json()["via"] == "session"


async def test_forwarded_host_counts_as_own_origin(app: FastAPI, client: httpx.AsyncClient) -> None:
    await create_user(app, "alice")
    response = await client.post(
        LOGIN,
        json={"username": "alice", "password": DEFAULT_PASSWORD},
        headers={
            "Origin": "https://lxcm.example.com",
            "X-Forwarded-Host": "lxcm.example.com",
            "X-Forwarded-Proto": "https",
        },
    )
    assert response.status_code == 200
