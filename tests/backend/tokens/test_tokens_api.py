"""/api/v1/tokens: shown once, stored hashed, scoped, expiring, revocable, accepted everywhere as Bearer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text, update

from helpers import bearer, create_token, create_user, login_as, new_client
from lxc_manager.core.db import unit_of_work
from lxc_manager.core.models import utcnow
from lxc_manager.models import APIToken, AuditEvent, Base
from lxc_manager.tokens import format as token_format

TOKENS = "/api/v1/tokens"
ME = "/api/v1/auth/me"


async def audit_rows(app: FastAPI, action: str) -> list[AuditEvent]:
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        return list((await db.scalars(select(AuditEvent).where(AuditEvent.action == action))).all())


def test_token_format_has_prefix_and_checksum() -> None:
    token, parts = token_format.generate()
    assert token.startswith("lxcm_") and len(token) == 5 + 12 + 1 + 43 + 6
    assert token_format.parse(token) == parts
    # A single changed character breaks the checksum.
    tampered = token[:-7] + ("A" if token[-7] != "A" else "B") + token[-6:]
    assert token_format.parse(tampered) is None
    assert token_format.parse("lxcm_short") is None
    assert token_format.parse(token + "x") is None
    other, _ = token_format.generate()
    assert other != token


async def test_create_shows_token_once_and_stores_only_a_hash(app: FastAPI, client: httpx.AsyncClient) -> None:
    me = await login_as(app, client, "ops", role="operator")
    response = await client.post(TOKENS, json={"name": "ci", "scopes": ["read", "write"], "expires_in_days": 30})
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    created = response.json()
    plaintext = created["token"]
    assert plaintext.startswith(created["prefix"] + "_")
    assert created["scopes"] == ["read", "write"]
    assert created["user_id"] == me.user_id
    expires = datetime.fromisoformat(created["expires_at"])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)

    # Never again: not in get, not in list.
    got = await client.get(f"{TOKENS}/{created['id']}")
    assert got.status_code == 200 and "token" not in got.json()
    listing = await client.get(TOKENS)
    assert plaintext not in listing.text and listing.json()["total"] == 1

    # The database holds no plaintext and no secret part: dump every row of every table.
    secret = token_format.parse(plaintext)
    assert secret is not None
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        dump = ""
        for table in Base.metadata.sorted_tables:
            dump += str((await db.execute(text(f'SELECT * FROM "{table.name}"'))).all())
    assert plaintext not in dump
    assert secret.secret not in dump
    assert token_format.hash_secret(secret.secret) in dump

    # The token works as Bearer, and its events are audited without the secret.
    async with new_client(app) as script:
        who = await script.get(ME, headers=bearer(plaintext))
        assert who.status_code == 200 and who.json()["via"] == "token"
        assert who.json()["scopes"] == ["read", "write"]
    events = await audit_rows(app, "token.create")
    assert len(events) == 1 and plaintext not in str(events[0].details)


@pytest.mark.parametrize(
    ("role", "scopes"),
    [("viewer", ["write"]), ("viewer", ["read", "admin"]), ("operator", ["admin"])],
)
async def test_scopes_above_the_role_are_refused(
    app: FastAPI, client: httpx.AsyncClient, role: str, scopes: list[str]
) -> None:
    await login_as(app, client, role=role)
    response = await client.post(TOKENS, json={"name": "x", "scopes": scopes})
    assert response.status_code == 403
    assert response.json()["error"] == "scope_not_allowed"


async def test_a_token_cannot_mint_a_stronger_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin_id = await create_user(app, "root", role="admin")
    read_only = await create_token(app, admin_id, scopes=("read",))
    response = await client.post(TOKENS, json={"name": "x", "scopes": ["admin"]}, headers=bearer(read_only))
    assert response.status_code == 403
    ok = await client.post(TOKENS, json={"name": "x", "scopes": ["read"]}, headers=bearer(read_only))
    assert ok.status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["root"]},
        {"name": "", "scopes": ["read"]},
        {"name": "   ", "scopes": ["read"]},
        {"name": "x" * 101, "scopes": ["read"]},
        {"name": "x", "scopes": ["read"], "expires_in_days": 0},
        {"name": "x", "scopes": ["read"], "expires_in_days": 99999},
        {"name": "x", "scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z"},
        {"name": "x", "scopes": ["read"], "expires_at": "9999-01-01T00:00:00Z"},
        {"name": "x", "scopes": ["read"], "expires_at": "2999-01-01T00:00:00Z", "expires_in_days": 3},
        {"name": "x", "scopes": ["read"], "expires_at": "not a date"},
        {"name": "x", "scopes": ["read"], "extra": True},
    ],
)
async def test_bad_input_is_422(app: FastAPI, client: httpx.AsyncClient, body: dict[str, object]) -> None:
    await login_as(app, client, "root")
    response = await client.post(TOKENS, json=body)
    assert response.status_code == 422, response.text


async def test_revoked_token_is_401_and_revocation_is_audited(app: FastAPI, client: httpx.AsyncClient) -> None:
    await login_as(app, client, "root")
    created = (await client.post(TOKENS, json={"name": "x", "scopes": ["read"]})).json()
    assert (await client.get(ME, headers=bearer(created["token"]))).status_code == 200
    assert (await client.delete(f"{TOKENS}/{created['id']}")).status_code == 204
    response = await client.get(ME, headers=bearer(created["token"]))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert (await client.get(TOKENS)).json()["total"] == 0
    assert (await client.get(TOKENS, params={"include_revoked": True})).json()["items"][0]["revoked_at"]
    assert len(await audit_rows(app, "token.revoke")) == 1
    rejected = await audit_rows(app, "auth.token_rejected")
    assert [(e.details["reason"], e.target_id, e.outcome) for e in rejected] == [("revoked", created["id"], "failure")]
    # Revoking twice is idempotent.
    assert (await client.delete(f"{TOKENS}/{created['id']}")).status_code == 204


async def test_expired_token_is_401(app: FastAPI, client: httpx.AsyncClient) -> None:
    user_id = await create_user(app, "alice")
    token = await create_token(app, user_id, scopes=("read",), expires_at=utcnow() + timedelta(hours=1))
    assert (await client.get(ME, headers=bearer(token))).status_code == 200
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        await db.execute(update(APIToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert (await client.get(ME, headers=bearer(token))).status_code == 401
    assert [e.details["reason"] for e in await audit_rows(app, "auth.token_rejected")] == ["expired"]


async def test_wrong_secret_with_valid_lookup_is_401(app: FastAPI, client: httpx.AsyncClient) -> None:
    user_id = await create_user(app, "alice")
    token = await create_token(app, user_id)
    parts = token_format.parse(token)
    assert parts is not None
    body = f"lxcm_{parts.lookup}_{'A' * 43}"
    forged = body + token_format.checksum(body)
    assert (await client.get(ME, headers=bearer(forged))).status_code == 401
    # Garbage (bad checksum) is not worth an audit row; a well-formed forgery is.
    assert (await client.get(ME, headers=bearer(forged[:-1] + "?"))).status_code == 401
    assert [e.details["reason"] for e in await audit_rows(app, "auth.token_rejected")] == ["bad_secret"]


async def test_out_of_scope_call_is_403(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin_id = await create_user(app, "root", role="admin")
    read_only = await create_token(app, admin_id, scopes=("read",))
    assert (await client.get("/api/v1/users", headers=bearer(read_only))).status_code == 403
    assert (await client.post("/api/v1/users", json={"username": "x"}, headers=bearer(read_only))).status_code == 403
    assert len(await audit_rows(app, "auth.denied")) == 2


async def test_last_used_is_recorded_at_most_once_a_minute(app: FastAPI, client: httpx.AsyncClient) -> None:
    user_id = await create_user(app, "alice")
    token = await create_token(app, user_id)
    await client.get(ME, headers=bearer(token))
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        first = await db.scalar(select(APIToken.last_used_at))
    assert first is not None
    await client.get(ME, headers=bearer(token))
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        assert await db.scalar(select(APIToken.last_used_at)) == first
        await db.execute(update(APIToken).values(last_used_at=utcnow() - timedelta(minutes=2)))
    await client.get(ME, headers=bearer(token))
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        later = await db.scalar(select(APIToken.last_used_at))
    assert later is not None and later > first - timedelta(seconds=1) and later > utcnow() - timedelta(seconds=30)


async def test_visibility_owner_admin_and_others(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice_id = await create_user(app, "alice", role="operator")
    bob_id = await create_user(app, "bob", role="operator")
    root_id = await create_user(app, "root", role="admin")
    alice_token = await create_token(app, alice_id, name="alice's")
    bob_token = await create_token(app, bob_id, name="bob's")
    root_token = await create_token(app, root_id)
    alice_row = (await client.get(TOKENS, headers=bearer(alice_token))).json()["items"][0]

    # Bob cannot see, list or revoke Alice's token: it does not exist for him.
    assert (await client.get(f"{TOKENS}/{alice_row['id']}", headers=bearer(bob_token))).status_code == 404
    assert (await client.delete(f"{TOKENS}/{alice_row['id']}", headers=bearer(bob_token))).status_code == 404
    assert (await client.get(TOKENS, params={"user_id": alice_id}, headers=bearer(bob_token))).status_code == 403
    assert (await client.get(TOKENS, params={"all": True}, headers=bearer(bob_token))).status_code == 403
    assert [t["name"] for t in (await client.get(TOKENS, headers=bearer(bob_token))).json()["items"]] == ["bob's"]

    # Admin sees a user's tokens or everyone's, and can revoke them.
    by_user = await client.get(TOKENS, params={"user_id": alice_id}, headers=bearer(root_token))
    assert [t["name"] for t in by_user.json()["items"]] == ["alice's"]
    assert (await client.get(TOKENS, params={"all": True}, headers=bearer(root_token))).json()["total"] == 3
    assert (await client.get(f"{TOKENS}/{alice_row['id']}", headers=bearer(root_token))).status_code == 200
    assert (await client.delete(f"{TOKENS}/{alice_row['id']}", headers=bearer(root_token))).status_code == 204
    assert (await client.get(ME, headers=bearer(alice_token))).status_code == 401


async def test_bearer_is_accepted_on_every_operation(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Every /api/v1 operation answers an admin Bearer call without 401 (auth-free ones excluded)."""
    admin_id = await create_user(app, "root", role="admin")
    token = await create_token(app, admin_id)
    public = {"login", "get_csrf_token"}
    checked = 0
    for path, methods in app.openapi()["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method, operation in methods.items():
            if operation["operationId"] in public or "oidc" in path:
                continue
            url = path.replace("{", "").replace("}", "")  # placeholders become ids that do not exist
            response = await client.request(method.upper(), url, headers=bearer(token), json={})
            assert response.status_code not in (401, 403), (method, path, response.status_code, response.text)
            assert response.status_code < 500, (method, path, response.text)
            checked += 1
    assert checked >= 12


async def test_tokens_require_authentication(client: httpx.AsyncClient) -> None:
    for method in ("GET", "POST"):
        assert (await client.request(method, TOKENS, json={})).status_code == 401
