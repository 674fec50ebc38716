"""/api/v1/users: admin-only account management, last-admin rule, session revocation, audit."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from helpers import DEFAULT_PASSWORD, bearer, create_token, create_user, login, login_as, new_client
from lxc_manager.core.db import unit_of_work
from lxc_manager.models import AuditEvent, User

USERS = "/api/v1/users"


async def audit_rows(app: FastAPI, action: str) -> list[AuditEvent]:
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        return list((await db.scalars(select(AuditEvent).where(AuditEvent.action == action))).all())


def assert_no_secrets(body: Any) -> None:
    text = str(body)
    assert "argon2" not in text
    assert "password_hash" not in text


async def test_admin_creates_lists_gets_updates_deletes(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await login_as(app, client, "root", role="admin")
    created = await client.post(
        USERS,
        json={
            "username": "bob",
            "password": "bobs secret pw",
            "role": "operator",
            "display_name": " Bob B ",
            "email": "bob@example.com",
        },
    )
    assert created.status_code == 201, created.text
    bob = created.json()
    assert_no_secrets(bob)
    assert (bob["username"], bob["role"], bob["display_name"], bob["has_password"]) == (
        "bob",
        "operator",
        "Bob B",
        True,
    )
    sso = await client.post(USERS, json={"username": "carol", "role": "viewer"})
    assert sso.status_code == 201
    assert sso.json()["has_password"] is False

    listing = await client.get(USERS, params={"search": "BO", "limit": 10})
    assert listing.status_code == 200
    assert [u["username"] for u in listing.json()["items"]] == ["bob"]
    assert listing.json()["total"] == 1
    everyone = await client.get(USERS, params={"limit": 2, "offset": 0})
    assert everyone.json()["total"] == 3 and len(everyone.json()["items"]) == 2
    assert_no_secrets(everyone.json())
    assert (await client.get(USERS, params={"search": "%"})).json()["total"] == 0
    assert (await client.get(USERS, params={"role": "viewer"})).json()["items"][0]["username"] == "carol"

    got = await client.get(f"{USERS}/{bob['id']}")
    assert got.status_code == 200 and got.json()["email"] == "bob@example.com"
    assert (await client.get(f"{USERS}/nope")).status_code == 404

    updated = await client.patch(f"{USERS}/{bob['id']}", json={"role": "viewer", "display_name": None})
    assert updated.status_code == 200
    assert updated.json()["role"] == "viewer" and updated.json()["display_name"] is None
    changes = [e.details["changes"] for e in await audit_rows(app, "user.update")]
    assert changes[-1]["role"] == ["operator", "viewer"]

    deleted = await client.delete(f"{USERS}/{bob['id']}")
    assert deleted.status_code == 204
    assert (await client.get(f"{USERS}/{bob['id']}")).status_code == 404
    assert [e.actor_id for e in await audit_rows(app, "user.delete")] == [admin.user_id]
    assert len(await audit_rows(app, "user.create")) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"username": "bad name"},
        {"username": "-dash"},
        {"username": "x" * 65},
        {"username": "ok", "password": "short"},
        {"username": "longenough", "password": "LongEnough"},
        {"username": "ok", "role": "god"},
        {"username": "ok", "email": "not-an-email"},
        {"username": "ok", "display_name": "tab\there"},
        {"username": "ok", "unknown": 1},
    ],
)
async def test_create_rejects_bad_input(app: FastAPI, client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    await login_as(app, client, "root")
    response = await client.post(USERS, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"] in {"validation_error", "weak_password"}


async def test_duplicate_username_is_409(app: FastAPI, client: httpx.AsyncClient) -> None:
    await login_as(app, client, "root")
    assert (await client.post(USERS, json={"username": "bob"})).status_code == 201
    response = await client.post(USERS, json={"username": "bob"})
    assert response.status_code == 409
    assert response.json()["error"] == "username_taken"


async def test_last_admin_cannot_be_removed_demoted_or_disabled(app: FastAPI, client: httpx.AsyncClient) -> None:
    root = await login_as(app, client, "root")
    for body in ({"role": "operator"}, {"is_active": False}):
        response = await client.patch(f"{USERS}/{root.user_id}", json=body)
        assert response.status_code == 409
        assert response.json()["error"] == "last_admin"
    assert (await client.delete(f"{USERS}/{root.user_id}")).json()["error"] == "cannot_delete_self"
    second = await create_user(app, "second", role="admin")
    # With another active admin around, removing one of them is fine.
    assert (await client.delete(f"{USERS}/{second}")).status_code == 204
    # A disabled admin does not count as a remaining admin.
    third = await create_user(app, "third", role="admin", active=False)
    assert (await client.patch(f"{USERS}/{root.user_id}", json={"role": "viewer"})).status_code == 409
    assert (await client.delete(f"{USERS}/{third}")).status_code == 204


async def test_null_for_required_fields_is_422(app: FastAPI, client: httpx.AsyncClient) -> None:
    root = await login_as(app, client, "root")
    for body in ({"role": None}, {"is_active": None}, {"password": None}):
        response = await client.patch(f"{USERS}/{root.user_id}", json=body)
        assert response.status_code == 422


async def test_disable_revokes_sessions_and_tokens(app: FastAPI, client: httpx.AsyncClient) -> None:
    await login_as(app, client, "root")
    bob_id = await create_user(app, "bob", role="operator")
    token = await create_token(app, bob_id, scopes=("read",))
    async with new_client(app) as bob:
        await login(bob, "bob")
        assert (await bob.get("/api/v1/auth/me")).status_code == 200
        response = await client.patch(f"{USERS}/{bob_id}", json={"is_active": False})
        assert response.status_code == 200 and response.json()["is_active"] is False
        assert (await bob.get("/api/v1/auth/me")).status_code == 401
        assert (await bob.get("/api/v1/auth/me", headers=bearer(token))).status_code == 401
        # Re-enabling does not resurrect the old session, but the token works again (owner active).
        await client.patch(f"{USERS}/{bob_id}", json={"is_active": True})
        assert (await bob.get("/api/v1/auth/me")).status_code == 401
        assert (await bob.get("/api/v1/auth/me", headers=bearer(token))).status_code == 200
    event = (await audit_rows(app, "user.update"))[0]
    assert event.details["changes"]["is_active"] == [True, False]
    assert event.details["changes"]["sessions_revoked"] == 1


async def test_password_reset_by_admin(app: FastAPI, client: httpx.AsyncClient) -> None:
    await login_as(app, client, "root")
    bob_id = await create_user(app, "bob")
    async with new_client(app) as bob:
        await login(bob, "bob")
        weak = await client.patch(f"{USERS}/{bob_id}", json={"password": "Bob"})
        assert weak.status_code == 422
        response = await client.patch(f"{USERS}/{bob_id}", json={"password": "a fresh password"})
        assert response.status_code == 200
        assert (await bob.get("/api/v1/auth/me")).status_code == 401
        failed = await bob.post("/api/v1/auth/login", json={"username": "bob", "password": DEFAULT_PASSWORD})
        assert failed.status_code == 401
        await login(bob, "bob", "a fresh password")
    events = await audit_rows(app, "user.update")
    assert events[-1].details["changes"]["password_reset"] is True
    assert "a fresh password" not in str([e.details for e in events])


@pytest.mark.parametrize("role", ["operator", "viewer"])
async def test_non_admins_get_403_everywhere(app: FastAPI, client: httpx.AsyncClient, role: str) -> None:
    target = await create_user(app, "target")
    await login_as(app, client, role=role)
    calls = [
        ("GET", USERS, None),
        ("POST", USERS, {"username": "x"}),
        ("GET", f"{USERS}/{target}", None),
        ("PATCH", f"{USERS}/{target}", {"role": "admin"}),
        ("DELETE", f"{USERS}/{target}", None),
    ]
    for method, url, body in calls:
        response = await client.request(method, url, json=body)
        assert response.status_code == 403, (method, url)
    assert len(await audit_rows(app, "auth.denied")) == len(calls)
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        assert (await db.get(User, target)) is not None


async def test_anonymous_gets_401(client: httpx.AsyncClient) -> None:
    assert (await client.get(USERS)).status_code == 401
    assert (await client.post(USERS, json={"username": "x"})).status_code == 401


async def test_admin_token_manages_users_without_csrf(app: FastAPI, client: httpx.AsyncClient) -> None:
    root_id = await create_user(app, "root", role="admin")
    token = await create_token(app, root_id)
    response = await client.post(USERS, json={"username": "bob"}, headers=bearer(token))
    assert response.status_code == 201
    read_only = await create_token(app, root_id, scopes=("read",))
    assert (await client.get(USERS, headers=bearer(read_only))).status_code == 403


async def test_usernames_are_unique_regardless_of_case(app: FastAPI, client: httpx.AsyncClient) -> None:
    await login_as(app, client, "root")
    assert (await client.post(USERS, json={"username": "Alice"})).status_code == 201
    response = await client.post(USERS, json={"username": "alice"})
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", USERS + "?search=a%00b", None),
        ("GET", USERS + "/a%00b", None),
        ("PATCH", USERS + "/a%00b", {"role": "viewer"}),
        ("POST", USERS, {"username": "ok", "email": "a\u0000b@example.com"}),
        ("POST", USERS, {"username": "ok", "display_name": "a\u0000b"}),
        ("GET", "/api/v1/tokens?user_id=a%00b", None),
        ("GET", "/api/v1/tokens/a%00b", None),
        ("POST", "/api/v1/tokens", {"name": "a\u0000b", "scopes": ["read"]}),
        ("POST", "/api/v1/auth/login", {"username": "a\u0000b", "password": "x"}),
    ],
)
async def test_nul_and_control_characters_are_422_not_500(
    app: FastAPI, client: httpx.AsyncClient, method: str, url: str, body: Any
) -> None:
    """PostgreSQL refuses NUL in text: such input must be stopped at validation."""
    await login_as(app, client, "root")
    response = await client.request(method, url, json=body)
    assert response.status_code == 422, response.text
