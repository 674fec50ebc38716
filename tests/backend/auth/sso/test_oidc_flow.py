"""SSO sign-in flow end to end: the providers endpoint, the happy path, client authentication, PKCE, state
(missing, reused, expired, another browser), provider failures and the ``next`` redirect.

The browser is simulated by hand: GET /oidc/login → the provider's /authorize over real HTTP → its 302 back
to /oidc/callback with the app client (which holds the binding cookie).
"""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select, update

from helpers import create_user, new_client
from lxc_manager.core.config import Settings
from lxc_manager.core.db import unit_of_work
from lxc_manager.core.models import utcnow
from lxc_manager.models import OIDCIdentity, OIDCLoginState, User, UserSession
from oidc_provider import Misbehaviour, OIDCTestProvider, TestIdentity
from sso.flow import CALLBACK, LOGIN, ME, assert_error, audit, authorize, count, link, sso_login, start

# --- providers endpoint -------------------------------------------------------------------------------


async def test_providers_lists_sso_when_configured(client: httpx.AsyncClient, settings: Settings) -> None:
    settings.oidc_display_name = "Company SSO"
    body = (await client.get("/api/v1/auth/providers")).json()
    assert body == {
        "password": True,
        "oidc": {"enabled": True, "display_name": "Company SSO", "login_url": "/api/v1/auth/oidc/login"},
    }
    settings.oidc_issuer = None
    body = (await client.get("/api/v1/auth/providers")).json()
    assert body["oidc"]["enabled"] is False
    assert body["oidc"]["login_url"] is None
    assert_error(await client.get(LOGIN), 404, "oidc_not_configured")
    assert_error(await client.get(CALLBACK, params={"code": "x", "state": "y"}), 404, "oidc_not_configured")


# --- the happy path -------------------------------------------------------------------------------------


async def test_linked_user_signs_in_with_state_nonce_and_pkce(
    app: FastAPI, client: httpx.AsyncClient, provider: OIDCTestProvider, idp_http: httpx.AsyncClient
) -> None:
    bob_id = await create_user(app, "bob", password=None, role="operator")
    await link(app, bob_id, provider.issuer, "bob-sub")
    provider.identity = TestIdentity(sub="bob-sub", email="bob@example.test", preferred_username="robert")

    login = await client.get(LOGIN, params={"next": "/templates?tab=mine"})
    assert login.status_code == 302
    assert login.headers["cache-control"] == "no-store"
    binding_cookie = login.headers["set-cookie"]
    assert binding_cookie.startswith("lxcm_oidc_binding=")
    assert "HttpOnly" in binding_cookie and "SameSite=lax" in binding_cookie
    assert "Path=/api/v1/auth/oidc" in binding_cookie
    # Only the binding's hash is stored.
    plain_binding = client.cookies["lxcm_oidc_binding"]
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        pending = (await db.scalars(select(OIDCLoginState))).one()
    assert pending.browser_binding != plain_binding and len(pending.browser_binding) == 64
    assert pending.redirect_to == "/templates?tab=mine"

    authorization_url = login.headers["location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorization_url).query).items()}
    assert authorization_url.startswith(f"{provider.issuer}/authorize?")
    assert query["response_type"] == "code"
    assert query["client_id"] == provider.client_id
    assert query["redirect_uri"] == CALLBACK
    assert query["scope"].split() == ["openid", "email", "profile"]
    assert query["state"] == pending.state
    assert query["nonce"] == pending.nonce
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43 and query["code_challenge"] != pending.code_verifier

    callback = await client.get(await authorize(idp_http, authorization_url))
    assert callback.status_code == 302, callback.text
    assert callback.headers["location"] == "/templates?tab=mine"
    assert "lxcm_session=" in callback.headers.get("set-cookie", "")

    # The provider checked client authentication and the PKCE verifier before issuing the ID token.
    assert [(r.client_auth, r.pkce_verified, r.outcome) for r in provider.token_requests] == [
        ("client_secret_basic", True, "issued")
    ]
    me = await client.get(ME)
    assert me.status_code == 200, me.text
    assert me.json()["user"]["id"] == bob_id
    assert me.json()["user"]["username"] == "bob"
    assert me.json()["via"] == "session"
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        sessions = list((await db.scalars(select(UserSession))).all())
        identity = (await db.scalars(select(OIDCIdentity))).one()
    assert [(s.user_id, s.auth_method) for s in sessions] == [(bob_id, "oidc")]
    assert identity.last_login_at is not None and identity.email == "bob@example.test"
    assert await count(app, OIDCLoginState) == 0  # consumed
    assert await count(app, User) == 1  # no new account
    success = await audit(app, "auth.oidc_login", "success")
    assert len(success) == 1 and success[0].actor_id == bob_id
    assert success[0].details["subject"] == "bob-sub"


async def test_binding_cookie_is_secure_over_https(app: FastAPI, provider: OIDCTestProvider) -> None:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50002))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as https_client:
        response = await https_client.get(LOGIN)
    assert response.status_code == 302
    attributes = [part.strip().lower() for part in response.headers["set-cookie"].split(";")]
    assert "secure" in attributes and "httponly" in attributes and "samesite=lax" in attributes


async def test_callback_without_code_is_refused(
    app: FastAPI, client: httpx.AsyncClient, provider: OIDCTestProvider, idp_http: httpx.AsyncClient
) -> None:
    callback_url = await authorize(idp_http, await start(client))
    state = parse_qs(urlsplit(callback_url).query)["state"][0]
    assert_error(await client.get(CALLBACK, params={"state": state}), 400, "oidc_code_missing")
    assert await count(app, UserSession) == 0


async def test_client_secret_post_when_the_provider_only_supports_it(
    app: FastAPI, client: httpx.AsyncClient, provider: OIDCTestProvider, idp_http: httpx.AsyncClient
) -> None:
    provider.auth_methods = ("client_secret_post",)
    user_id = await create_user(app, "carol", password=None)
    await link(app, user_id, provider.issuer, provider.identity.sub)
    response = await sso_login(client, idp_http)
    assert response.status_code == 302, response.text
    assert [r.client_auth for r in provider.token_requests] == ["client_secret_post"]


async def test_wrong_client_secret_is_a_provider_configuration_error(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, provider: OIDCTestProvider, idp_http: httpx.AsyncClient
) -> None:
    settings.oidc_client_secret = SecretStr("not-the-registered-secret")
    response = await sso_login(client, idp_http)
    body = assert_error(response, 502, "oidc_provider_error")
    assert "LXCM_OIDC_CLIENT_SECRET" in body["detail"]
    assert "not-the-registered-secret" not in response.text
    assert await count(app, UserSession) == 0


async def test_pkce_verifier_is_checked_by_the_provider(
    app: FastAPI, client: httpx.AsyncClient, provider: OIDCTestProvider, idp_http: httpx.AsyncClient
) -> None:
    """A code intercepted with a different verifier (here: the stored verifier replaced) is useless."""
    user_id = await create_user(app, "dave", password=None)
    await link(app, user_id, provider.issuer, provider.identity.sub)
    callback_url = await authorize(idp_http, await start(client))
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        await db.execute(update(OIDCLoginState).values(code_verifier="x" * 64))
    assert_error(await client.get(callback_url), 400, "oidc_code_rejected")
    assert [(r.pkce_verified, r.outcome) for r in provider.token_requests] == [(False, "invalid_grant")]
    assert await count(app, UserSession) == 0


# --- state: missing, unknown, reused, expired, another browser -----------------------------------------


async def test_missing_unknown_and_reused_state_are_refused(
    app: FastAPI, client: httpx.AsyncClient, provider: OIDCTestProvider, idp_http: httpx.AsyncClient
) -> None:
    user_id = await create_user(app, "erin", password=None)
    await link(app, user_id, provider.issuer, provider.identity.sub)
    callback_url = await authorize(idp_http, await start(client))
    code = parse_qs(urlsplit(callback_url).query)["code"][0]

    assert_error(await client.get(CALLBACK, params={"code": code}), 400, "oidc_state_invalid")
    assert_error(await client.get(CALLBACK, params={"code": code, "state": "forged"}), 400, "oidc_state_invalid")
    assert_error(await client.get(CALLBACK), 400, "oidc_state_invalid")
    ok = await client.get(callback_url)
    assert ok.status_code == 302, ok.text
    # Replaying the same callback (state already used) fails and opens no second session.
    assert_error(await client.get(callback_url), 400, "oidc_state_invalid")
    assert await count(app, UserSession) == 1
    assert len(provider.token_requests) == 1  # the refused callbacks never reached the token endpoint
    failures = await audit(app, "auth.oidc_login", "failure")
    assert len(failures) == 4
    assert {f.details["reason"] for f in failures} == {"oidc_state_invalid"}


async def test_state_is_burnt_even_when_the_callback_fails(
    app: FastAPI, client: httpx.AsyncClient, provider: OIDCTestProvider, idp_http: httpx.AsyncClient
) -> None:
    provider.misbehave = Misbehaviour(nonce="not-the-nonce")
    callback_url = await authorize(idp_http, await start(client))
    assert_error(await client.get(callback_url), 400, "oidc_token_invalid")
    provider.misbehave = Misbehaviour()
    assert_error(await client.get(callback_url), 400, "oidc_state_invalid")
    assert await count(app, OIDCLoginState) == 0


async def test_concurrent_replays_of_one_callback_open_one_session(
    app: FastAPI, client: httpx.AsyncClient, provider: OIDCTestProvider, idp_http: httpx.AsyncClient
) -> None:
    user_id = await create_user(app, "erin", password=None)
    await link(app, user_id, provider.issuer, provider.identity.sub)
    callback_url = await authorize(idp_http, await start(client))
    responses = await asyncio.gather(*(client.get(callback_url) for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [302, 400, 400, 400, 400]
    assert await count(app, UserSession) == 1


async def test_two_tabs_of_one_browser_can_both_sign_in(
    app: FastAPI, client: httpx.AsyncClient, provider: OIDCTestProvider, idp_http: httpx.AsyncClient
) -> None:
    user_id = await create_user(app, "erin", password=None)
    await link(app, user_id, provider.issuer, provider.identity.sub)
    first_tab = await authorize(idp_http, await start(client, "/one"))
    binding = client.cookies["lxcm_oidc_binding"]
    second_tab = await authorize(idp_http, await start(client, "/two"))
    assert client.cookies["lxcm_oidc_binding"] == binding  # kept, not replaced
    assert (await client.get(second_tab)).headers["location"] == "/two"
    assert (await client.get(first_tab)).headers["location"] == "/one"


async def test_expired_state_is_refused(
    app: FastAPI, client: httpx.AsyncClient, provider: OIDCTestProvider, idp_http: httpx.AsyncClient
) -> None:
    user_id = await create_user(app, "frank", password=None)
    await link(app, user_id, provider.issuer, provider.identity.sub)
    callback_url = await authorize(idp_http, await start(client))
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        await db.execute(update(OIDCLoginState).values(created_at=utcnow() - timedelta(minutes=11)))
    body = assert_error(await client.get(callback_url), 400, "oidc_state_invalid")
    assert "10 minutes" in body["detail"]
    assert provider.token_requests == []
    assert await count(app, UserSession) == 0


async def test_state_from_another_browser_is_refused(
    app: FastAPI, client: httpx.AsyncClient, provider: OIDCTestProvider, idp_http: httpx.AsyncClient
) -> None:
    """Login CSRF / leaked callback URL: the victim's browser lacks the binding cookie of the attacker's flow."""
    user_id = await create_user(app, "mallory", password=None)
    await link(app, user_id, provider.issuer, provider.identity.sub)
    attacker_callback = await authorize(idp_http, await start(client))
    async with new_client(app) as victim:
        # No binding cookie at all.
        assert_error(await victim.get(attacker_callback), 400, "oidc_state_invalid")
        # The victim's own binding cookie (from its own, unrelated login start) does not match either.
        await start(victim)
        assert victim.cookies.get("lxcm_oidc_binding")
        assert_error(await victim.get(attacker_callback), 400, "oidc_state_invalid")
        assert (await victim.get(ME)).status_code == 401
    assert await count(app, UserSession) == 0
    # The rightful browser can still finish: a mismatched binding does not burn the state.
    assert (await client.get(attacker_callback)).status_code == 302


# --- the provider itself ------------------------------------------------------------------------------


async def test_idp_error_parameter_is_a_clear_400(
    app: FastAPI, client: httpx.AsyncClient, provider: OIDCTestProvider, idp_http: httpx.AsyncClient
) -> None:
    provider.misbehave = Misbehaviour(authorize_error="access_denied")
    response = await sso_login(client, idp_http)
    body = assert_error(response, 400, "oidc_login_refused")
    assert "access_denied" in body["detail"] and "declined" in body["detail"]
    assert provider.token_requests == []
    assert await count(app, OIDCLoginState) == 0  # the state is spent
    assert (await audit(app, "auth.oidc_login", "failure"))[-1].details["reason"] == "oidc_login_refused"
    # A crafted callback link (no flow of this browser behind it) cannot make us display its text.
    crafted = await client.get(
        CALLBACK, params={"error": "access_denied<script>", "error_description": "Call +1 555 0100 now"}
    )
    body = assert_error(crafted, 400, "oidc_login_refused")
    assert "555" not in body["detail"] and "<script>" not in body["detail"]


async def test_discovery_issuer_mismatch_is_refused(client: httpx.AsyncClient, provider: OIDCTestProvider) -> None:
    provider.misbehave = Misbehaviour(discovery_issuer="https://impostor.example")
    body = assert_error(await client.get(LOGIN), 502, "oidc_provider_error")
    assert "impostor.example" in body["detail"]


async def test_unreachable_provider_is_503(app: FastAPI, client: httpx.AsyncClient, settings: Settings) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free_port = sock.getsockname()[1]
    settings.oidc_issuer = f"http://127.0.0.1:{free_port}"
    assert_error(await client.get(LOGIN), 503, "oidc_provider_unavailable")
    assert await count(app, OIDCLoginState) == 0


async def test_plain_http_issuer_off_loopback_is_refused(client: httpx.AsyncClient, settings: Settings) -> None:
    settings.oidc_issuer = "http://idp.example"
    body = assert_error(await client.get(LOGIN), 502, "oidc_provider_error")
    assert "https" in body["detail"]


# --- redirects --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("next_path", "expected"),
    [
        ("https://evil.example/phish", "/"),
        ("//evil.example/phish", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nSet-Cookie: x=y", "/"),
        (None, "/"),
        ("/nodes/42?tab=ct#top", "/nodes/42?tab=ct#top"),
    ],
)
async def test_next_is_a_same_site_path_only(
    app: FastAPI,
    client: httpx.AsyncClient,
    provider: OIDCTestProvider,
    idp_http: httpx.AsyncClient,
    next_path: str | None,
    expected: str,
) -> None:
    user_id = await create_user(app, "kim", password=None)
    await link(app, user_id, provider.issuer, provider.identity.sub)
    response = await sso_login(client, idp_http, next_path)
    assert response.status_code == 302, response.text
    assert response.headers["location"] == expected
