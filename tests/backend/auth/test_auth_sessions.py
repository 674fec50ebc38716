"""Login, session cookie, fixation, logout, timeouts, disabled users, password hashing and changes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import select, update

from helpers import DEFAULT_PASSWORD, create_user, login, new_client
from lxc_manager.auth import passwords
from lxc_manager.core.config import Settings
from lxc_manager.core.db import unit_of_work
from lxc_manager.core.models import utcnow
from lxc_manager.main import create_app
from lxc_manager.models import AuditEvent, User, UserSession

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"
LOGOUT = "/api/v1/auth/logout"


def cookie_attributes(response: httpx.Response) -> tuple[str, str, dict[str, str]]:
    """(name, value, {attribute lowercased: value}) of the single Set-Cookie header."""
    headers = response.headers.get_list("set-cookie")
    assert len(headers) == 1, headers
    first, *attrs = [part.strip() for part in headers[0].split(";")]
    name, _, value = first.partition("=")
    parsed = {}
    for attr in attrs:
        key, _, val = attr.partition("=")
        parsed[key.lower()] = val
    return name, value, parsed


async def db_exec(app: FastAPI, statement: Any) -> None:
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        await db.execute(statement)


async def audit_rows(app: FastAPI, action: str) -> list[AuditEvent]:
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        return list((await db.scalars(select(AuditEvent).where(AuditEvent.action == action))).all())


async def test_login_sets_hardened_cookie_and_returns_csrf(app: FastAPI, client: httpx.AsyncClient) -> None:
    await create_user(app, "alice", role="operator", display_name="Alice")
    response = await client.post(LOGIN, json={"username": "alice", "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["username"] == "alice"
    assert body["user"]["role"] == "operator"
    assert "password_hash" not in body["user"]
    assert len(body["csrf_token"]) >= 40
    name, value, attrs = cookie_attributes(response)
    assert name == "lxcm_session"
    assert len(value) >= 43  # 256 bits, url-safe base64
    assert "httponly" in attrs
    assert attrs["samesite"].lower() == "lax"
    assert attrs["path"] == "/"
    assert "secure" not in attrs  # plain http test server
    assert "domain" not in attrs
    assert response.headers["cache-control"] == "no-store"

    me = await client.get(ME)
    assert me.status_code == 200
    assert me.json()["user"]["username"] == "alice"
    assert me.json()["role"] == "operator"
    assert me.json()["scopes"] == ["read", "write"]
    assert me.json()["via"] == "session"


async def test_session_id_stored_only_as_hash(app: FastAPI, client: httpx.AsyncClient) -> None:
    await create_user(app, "alice")
    await login(client, "alice")
    cookie = client.cookies["lxcm_session"]
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        ids = list((await db.scalars(select(UserSession.id))).all())
    assert len(ids) == 1
    assert cookie not in ids[0]
    assert len(ids[0]) == 64


@pytest.mark.parametrize("how", ["forwarded", "setting"])
async def test_cookie_secure_over_https(settings: Settings, how: str) -> None:
    if how == "setting":
        settings = settings.model_copy(update={"cookie_secure": True})
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        await create_user(application, "alice")
        headers = {"X-Forwarded-Proto": "https"} if how == "forwarded" else {}
        async with new_client(application) as http:
            response = await http.post(LOGIN, json={"username": "alice", "password": DEFAULT_PASSWORD}, headers=headers)
        assert response.status_code == 200
        name, _, attrs = cookie_attributes(response)
        assert name == "__Host-lxcm_session"
        assert "secure" in attrs
        assert "httponly" in attrs
        assert attrs["path"] == "/"


async def test_new_session_id_at_every_login_and_planted_id_is_useless(app: FastAPI, client: httpx.AsyncClient) -> None:
    await create_user(app, "alice")
    # An attacker-planted cookie value never becomes an authenticated session.
    client.cookies.set("lxcm_session", "planted-by-attacker", domain="testserver.local")
    await login(client, "alice")
    first = client.cookies["lxcm_session"]
    assert first != "planted-by-attacker"
    await login(client, "alice")
    second = client.cookies["lxcm_session"]
    assert second != first
    # The session the browser carried before re-login is revoked.
    async with new_client(app) as other:
        other.cookies.set("lxcm_session", first)
        assert (await other.get(ME)).status_code == 401
        other.cookies.set("lxcm_session", second)
        assert (await other.get(ME)).status_code == 200


async def test_logout_kills_the_session_server_side(app: FastAPI, client: httpx.AsyncClient) -> None:
    await create_user(app, "alice")
    csrf = await login(client, "alice")
    cookie = client.cookies["lxcm_session"]
    response = await client.post(LOGOUT, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    assert 'lxcm_session=""' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]
    async with new_client(app) as replay:
        replay.cookies.set("lxcm_session", cookie)
        response = await replay.get(ME)
        assert response.status_code == 401
        assert response.json()["error"] == "not_authenticated"
    assert [e.outcome for e in await audit_rows(app, "auth.logout")] == ["success"]


async def test_idle_timeout(app: FastAPI, client: httpx.AsyncClient, settings: Settings) -> None:
    await create_user(app, "alice")
    await login(client, "alice")
    assert (await client.get(ME)).status_code == 200
    stale = utcnow() - timedelta(seconds=settings.session_idle_timeout_s + 5)
    await db_exec(app, update(UserSession).values(last_seen_at=stale))
    assert (await client.get(ME)).status_code == 401


async def test_last_seen_written_at_most_once_a_minute(app: FastAPI, client: httpx.AsyncClient) -> None:
    await create_user(app, "alice")
    await login(client, "alice")
    recent = utcnow() - timedelta(seconds=10)
    await db_exec(app, update(UserSession).values(last_seen_at=recent))
    await client.get(ME)
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        assert await db.scalar(select(UserSession.last_seen_at)) == recent
    older = utcnow() - timedelta(seconds=90)
    await db_exec(app, update(UserSession).values(last_seen_at=older))
    await client.get(ME)
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        seen = await db.scalar(select(UserSession.last_seen_at))
    assert seen is not None and seen > older + timedelta(seconds=60)


async def test_absolute_timeout(app: FastAPI, client: httpx.AsyncClient) -> None:
    await create_user(app, "alice")
    await login(client, "alice")
    # Recently active, but past its absolute lifetime.
    await db_exec(app, update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert (await client.get(ME)).status_code == 401


async def test_disabled_user_session_gets_401_and_cannot_log_in(app: FastAPI, client: httpx.AsyncClient) -> None:
    await create_user(app, "alice")
    await login(client, "alice")
    await db_exec(app, update(User).where(User.username == "alice").values(is_active=False))
    assert (await client.get(ME)).status_code == 401
    response = await client.post(LOGIN, json={"username": "alice", "password": DEFAULT_PASSWORD})
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_credentials", "detail": "Invalid username or password"}


async def test_unknown_user_and_wrong_password_look_identical(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_user(app, "alice")
    await create_user(app, "sso-only", password=None)
    burned: list[str] = []
    real_burn = passwords.burn_verification

    def spy(password: str) -> None:
        burned.append(password)
        real_burn(password)

    monkeypatch.setattr(passwords, "burn_verification", spy)
    answers = []
    for username in ("alice", "nobody", "sso-only"):
        response = await client.post(LOGIN, json={"username": username, "password": "wrong-password-123"})
        answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0] == (401, {"error": "invalid_credentials", "detail": "Invalid username or password"})
    # Unknown and password-less users still pay for an argon2 verification (no timing oracle).
    assert burned == ["wrong-password-123", "wrong-password-123"]
    failures = await audit_rows(app, "auth.login")
    assert sorted(e.details["reason"] for e in failures) == ["bad_password", "no_password", "unknown_user"]
    assert all(e.outcome == "failure" for e in failures)


async def test_successful_login_is_audited(app: FastAPI, client: httpx.AsyncClient) -> None:
    user_id = await create_user(app, "alice")
    await login(client, "alice")
    events = await audit_rows(app, "auth.login")
    assert [(e.outcome, e.actor_id, e.client_ip) for e in events] == [("success", user_id, "127.0.0.1")]


def test_hash_parameters_meet_owasp() -> None:
    encoded = passwords.hash_password("some password 123")
    assert encoded.startswith("$argon2id$v=19$")
    params = dict(item.split("=") for item in encoded.split("$")[3].split(","))
    assert int(params["m"]) >= 19 * 1024
    assert int(params["t"]) >= 2
    assert int(params["p"]) == 1
    assert passwords.verify_password(encoded, "some password 123")
    assert not passwords.verify_password(encoded, "some password 124")
    assert not passwords.verify_password("not-a-hash", "x")


async def test_weak_hash_is_upgraded_at_login(app: FastAPI, client: httpx.AsyncClient) -> None:
    user_id = await create_user(app, "alice")
    old_hash = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(DEFAULT_PASSWORD)
    await db_exec(app, update(User).where(User.id == user_id).values(password_hash=old_hash))
    assert passwords.needs_rehash(old_hash)
    await login(client, "alice")
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        new_hash = await db.scalar(select(User.password_hash).where(User.id == user_id))
    assert new_hash is not None and new_hash != old_hash
    assert not passwords.needs_rehash(new_hash)
    assert passwords.verify_password(new_hash, DEFAULT_PASSWORD)


async def test_change_password_revokes_other_sessions(app: FastAPI, client: httpx.AsyncClient) -> None:
    await create_user(app, "alice")
    csrf = await login(client, "alice")
    async with new_client(app, "10.0.0.2") as laptop:
        await login(laptop, "alice")
        url = "/api/v1/auth/password"
        headers = {"X-CSRF-Token": csrf}
        wrong = await client.post(
            url, json={"current_password": "nope-nope-nope", "new_password": "brand new pw 1"}, headers=headers
        )
        assert wrong.status_code == 403
        assert wrong.json()["error"] == "invalid_current_password"
        weak = await client.post(
            url, json={"current_password": DEFAULT_PASSWORD, "new_password": "short"}, headers=headers
        )
        assert weak.status_code == 422
        assert weak.json()["error"] == "weak_password"
        same_as_name = await client.post(
            url, json={"current_password": DEFAULT_PASSWORD, "new_password": "ALICE"}, headers=headers
        )
        assert same_as_name.status_code == 422
        ok = await client.post(
            url, json={"current_password": DEFAULT_PASSWORD, "new_password": "brand new pw 1"}, headers=headers
        )
        assert ok.status_code == 204
        assert (await laptop.get(ME)).status_code == 401
        assert (await client.get(ME)).status_code == 200
    bad = await client.post(LOGIN, json={"username": "alice", "password": DEFAULT_PASSWORD})
    assert bad.status_code == 401
    await login(client, "alice", "brand new pw 1")


def test_password_policy() -> None:
    assert passwords.password_policy_problem("x" * 9, "bob") is not None
    assert passwords.password_policy_problem("x" * 10, "bob") is None
    assert passwords.password_policy_problem("x" * 256, "bob") is None
    assert passwords.password_policy_problem("x" * 257, "bob") is not None
    assert passwords.password_policy_problem("Administrator", "administrator") is not None


async def test_csrf_endpoint_returns_session_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/auth/csrf")).status_code == 401
    await create_user(app, "alice")
    csrf = await login(client, "alice")
    response = await client.get("/api/v1/auth/csrf")
    assert response.status_code == 200
    assert response.json() == {"csrf_token": csrf}


@pytest.mark.parametrize(
    "body",
    [{}, {"username": "a"}, {"username": "", "password": "x"}, {"username": "a", "password": "x" * 2000}, []],
)
async def test_login_bad_input_is_422(client: httpx.AsyncClient, body: Any) -> None:
    response = await client.post(LOGIN, json=body)
    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"
