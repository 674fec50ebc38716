"""OpenID Connect login, end to end: the app (over ASGI) against a real OIDC provider on 127.0.0.1.

The browser is simulated by hand: GET /oidc/login → follow the 302 to the provider's /authorize over real
HTTP → take its 302 back to /oidc/callback with the app client (which holds the binding cookie).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import settings as settings_profile
from hypothesis import strategies as st
from joserfc.jwk import KeySet, RSAKey
from pydantic import SecretStr, ValidationError
from sqlalchemy import func, select, update

from helpers import create_user, login_as, new_client
from lxc_manager.auth import oidc_client
from lxc_manager.core.config import Settings
from lxc_manager.core.db import unit_of_work
from lxc_manager.core.models import utcnow
from lxc_manager.models import AuditEvent, OIDCIdentity, OIDCLoginState, User, UserSession
from oidc_provider import Misbehaviour, OIDCTestProvider, TestIdentity

LOGIN = "/api/v1/auth/oidc/login"
CALLBACK = "http://testserver/api/v1/auth/oidc/callback"
ME = "/api/v1/auth/me"


@pytest.fixture(scope="module")
def provider_server() -> Iterator[OIDCTestProvider]:
    provider = OIDCTestProvider()
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def provider(provider_server: OIDCTestProvider) -> Iterator[OIDCTestProvider]:
    provider_server.reset()
    oidc_client.clear_caches()
    yield provider_server
    oidc_client.clear_caches()


@pytest.fixture
def settings(settings: Settings, provider_server: OIDCTestProvider) -> Settings:
    settings.oidc_issuer = provider_server.issuer
    settings.oidc_client_id = provider_server.client_id
    settings.oidc_client_secret = SecretStr(provider_server.client_secret)
    settings.public_url = "http://testserver"
    settings.oidc_auto_provision = False
    return settings


@pytest.fixture
async def idp_http() -> AsyncIterator[httpx.AsyncClient]:
    """The browser's connection to the provider (real HTTP)."""
    async with httpx.AsyncClient(timeout=10) as http:
        yield http


async def start(client: httpx.AsyncClient, next_path: str | None = "/dashboard") -> str:
    """GET /oidc/login; returns the provider authorization URL."""
    params = {"next": next_path} if next_path is not None else {}
    response = await client.get(LOGIN, params=params)
    assert response.status_code == 302, response.text
    return response.headers["location"]


async def authorize(idp_http: httpx.AsyncClient, authorization_url: str) -> str:
    """The provider's auto-approval; returns the callback URL it redirects to."""
    response = await idp_http.get(authorization_url)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(CALLBACK)
    return location


async def sso_login(
    client: httpx.AsyncClient, idp_http: httpx.AsyncClient, next_path: str | None = "/dashboard"
) -> httpx.Response:
    return await client.get(await authorize(idp_http, await start(client, next_path)))


async def count(app: FastAPI, model: Any, *where: Any) -> int:
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        return int(await db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def user_by_name(app: FastAPI, username: str) -> User | None:
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        return await db.scalar(select(User).where(User.username == username))


async def audit(app: FastAPI, action: str, outcome: str | None = None) -> list[AuditEvent]:
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        query = select(AuditEvent).where(AuditEvent.action == action)
        if outcome:
            query = query.where(AuditEvent.outcome == outcome)
        return list((await db.scalars(query.order_by(AuditEvent.at))).all())


async def link(app: FastAPI, user_id: str, issuer: str, subject: str) -> None:
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        db.add(OIDCIdentity(user_id=user_id, issuer=issuer, subject=subject))


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == code, body
    assert body["detail"]
    return body


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


# --- ID token validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("misbehaviour", "detail_part"),
    [
        (Misbehaviour(nonce="someone-elses-nonce"), "nonce"),
        (Misbehaviour(omit_nonce=True), "nonce"),
        (Misbehaviour(token_issuer="https://evil.example"), "issuer"),
        (Misbehaviour(audience="another-client"), "aud"),
        (Misbehaviour(audience=["another-client", "third-client"]), "aud"),
        (Misbehaviour(audience=["lxcm-test-client", "another-client"]), "azp"),
        (Misbehaviour(azp="another-client"), "azp"),
        (Misbehaviour(expired=True), "expired"),
        (Misbehaviour(sign_with_other_key=True), "signature"),
    ],
    ids=[
        "wrong-nonce",
        "no-nonce",
        "wrong-iss",
        "wrong-aud",
        "aud-list-without-us",
        "several-aud-no-azp",
        "wrong-azp",
        "expired",
        "bad-signature",
    ],
)
async def test_bad_id_tokens_are_rejected_and_open_no_session(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    provider: OIDCTestProvider,
    idp_http: httpx.AsyncClient,
    misbehaviour: Misbehaviour,
    detail_part: str,
) -> None:
    settings.oidc_auto_provision = True  # even an account that would be created is not
    user_id = await create_user(app, "grace", password=None)
    await link(app, user_id, provider.issuer, provider.identity.sub)
    provider.misbehave = misbehaviour
    response = await sso_login(client, idp_http)
    body = assert_error(response, 400, "oidc_token_invalid")
    assert detail_part in body["detail"]
    assert provider.token_requests[-1].outcome == "issued"  # the provider did answer; we refused
    assert await count(app, UserSession) == 0
    assert await count(app, User) == 1
    assert "lxcm_session" not in client.cookies
    assert (await client.get(ME)).status_code == 401
    failure = (await audit(app, "auth.oidc_login", "failure"))[-1]
    assert failure.details["reason"] == "oidc_token_invalid"


async def test_missing_id_token_is_a_provider_error(
    app: FastAPI, client: httpx.AsyncClient, provider: OIDCTestProvider, idp_http: httpx.AsyncClient
) -> None:
    provider.misbehave = Misbehaviour(omit_id_token=True)
    assert_error(await sso_login(client, idp_http), 502, "oidc_provider_error")
    assert await count(app, UserSession) == 0


async def test_token_endpoint_crash_is_502(
    app: FastAPI, client: httpx.AsyncClient, provider: OIDCTestProvider, idp_http: httpx.AsyncClient
) -> None:
    provider.misbehave = Misbehaviour(token_endpoint_crash=True)
    assert_error(await sso_login(client, idp_http), 502, "oidc_provider_error")
    assert await count(app, UserSession) == 0


async def test_token_endpoint_unreachable_is_503(
    app: FastAPI, client: httpx.AsyncClient, provider: OIDCTestProvider, idp_http: httpx.AsyncClient
) -> None:
    callback_url = await authorize(idp_http, await start(client))
    # The provider goes away between the browser's visit and the callback: point the cached metadata at a
    # port where nothing listens.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/token"
    fetched_at, metadata = oidc_client._discovery_cache[provider.issuer]
    oidc_client._discovery_cache[provider.issuer] = (fetched_at, dataclasses.replace(metadata, token_endpoint=dead))
    assert_error(await client.get(callback_url), 503, "oidc_provider_unavailable")
    assert await count(app, UserSession) == 0


async def test_key_rotation_refetches_the_jwks_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    provider: OIDCTestProvider,
    idp_http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(oidc_client, "JWKS_MIN_REFETCH_S", 0.0)
    user_id = await create_user(app, "heidi", password=None)
    await link(app, user_id, provider.issuer, provider.identity.sub)
    assert (await sso_login(client, idp_http)).status_code == 302
    assert (await sso_login(client, idp_http)).status_code == 302
    assert provider.jwks_fetches == 1  # cached
    provider.rotate_key()
    assert (await sso_login(client, idp_http)).status_code == 302
    assert provider.jwks_fetches == 2  # unknown kid → one refetch


@settings_profile(max_examples=300, deadline=None)
@given(
    token=st.one_of(
        st.text(max_size=300),
        st.lists(
            st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=", max_size=80),
            min_size=1,
            max_size=5,
        ).map(".".join),
        st.builds(
            lambda header, payload: (
                ".".join(
                    base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()
                    for part in (header, payload)
                )
                + ".c2ln"
            ),
            st.dictionaries(st.sampled_from(["alg", "kid", "typ", "crit"]), st.one_of(st.text(max_size=8), st.none())),
            st.dictionaries(st.text(max_size=6), st.one_of(st.integers(), st.text(max_size=6), st.none())),
        ),
    )
)
def test_garbage_id_tokens_only_ever_raise_invalid_token(token: str) -> None:
    """Whatever bytes arrive as an ID token, validation answers 'invalid' (or 'unknown key'), never crashes."""
    keys = KeySet([_FUZZ_KEY])
    metadata = oidc_client.ProviderMetadata(
        issuer="https://idp.example",
        authorization_endpoint="https://idp.example/authorize",
        token_endpoint="https://idp.example/token",
        jwks_uri="https://idp.example/jwks",
        token_endpoint_auth_methods=("client_secret_basic",),
        id_token_algs=("RS256", "ES256"),
    )
    try:
        oidc_client.validate_id_token(token, keys, metadata, client_id="c", nonce="n")
    except (oidc_client.OIDCTokenInvalid, oidc_client.UnknownSigningKey):
        return
    raise AssertionError("a garbage token was accepted")


_FUZZ_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})


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


# --- account linking ------------------------------------------------------------------------------------


@pytest.mark.parametrize("email_verified", [False, True], ids=["unverified", "verified"])
async def test_same_email_never_links_to_a_local_account(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    provider: OIDCTestProvider,
    idp_http: httpx.AsyncClient,
    email_verified: bool,
) -> None:
    alice_id = await create_user(app, "alice", role="admin", email="a@x")
    provider.identity = TestIdentity(
        sub="attacker-sub", email="a@x", email_verified=email_verified, preferred_username="alice"
    )

    # Auto-provisioning off: refused, nothing linked.
    body = assert_error(await sso_login(client, idp_http), 403, "sso_not_provisioned")
    assert "administrator" in body["detail"]
    assert await count(app, OIDCIdentity) == 0
    assert await count(app, UserSession) == 0

    # Auto-provisioning on: a new, separate account; alice stays untouched.
    settings.oidc_auto_provision = True
    assert (await sso_login(client, idp_http)).status_code == 302
    me = (await client.get(ME)).json()
    assert me["user"]["id"] != alice_id
    assert me["user"]["username"] == "alice-2"
    assert me["role"] == "viewer"
    assert await count(app, OIDCIdentity, OIDCIdentity.user_id == alice_id) == 0
    assert await count(app, UserSession, UserSession.user_id == alice_id) == 0
    alice = await user_by_name(app, "alice")
    assert alice is not None and alice.role == "admin" and alice.password_hash is not None


async def test_auto_provision_creates_sso_only_user_with_default_role(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, provider: OIDCTestProvider, idp_http: httpx.AsyncClient
) -> None:
    settings.oidc_auto_provision = True
    settings.oidc_default_role = "operator"
    provider.identity = TestIdentity(
        sub="new-sub", email="Zoë.Müller@example.test", preferred_username=None, name="Zoë\x07 Müller"
    )
    assert (await sso_login(client, idp_http)).status_code == 302
    me = (await client.get(ME)).json()
    assert me["user"]["username"] == "zoe.muller"
    assert me["user"]["has_password"] is False
    assert me["user"]["display_name"] == "Zoë Müller"
    assert me["role"] == "operator"
    user = await user_by_name(app, "zoe.muller")
    assert user is not None and user.password_hash is None
    assert await count(app, OIDCIdentity, OIDCIdentity.user_id == user.id, OIDCIdentity.subject == "new-sub") == 1
    created = await audit(app, "user.create")
    assert len(created) == 1 and created[0].details["via"] == "oidc"
    assert (await audit(app, "auth.oidc_login", "success"))[-1].details["provisioned"] is True

    # Second login: the same account (found by issuer + subject), nothing new.
    async with new_client(app) as other:
        assert (await sso_login(other, idp_http)).status_code == 302
        assert (await other.get(ME)).json()["user"]["id"] == user.id
    assert await count(app, User) == 1

    # The SSO-only account cannot log in with a password.
    response = await client.post("/api/v1/auth/login", json={"username": "zoe.muller", "password": "x" * 12})
    assert response.status_code == 401


async def test_concurrent_first_logins_create_one_account(
    app: FastAPI, settings: Settings, provider: OIDCTestProvider, idp_http: httpx.AsyncClient
) -> None:
    """The same new identity finishing sign-in in several browsers at once gets one account, not several."""
    settings.oidc_auto_provision = True
    browsers = [new_client(app) for _ in range(4)]
    try:
        callbacks = [await authorize(idp_http, await start(browser)) for browser in browsers]
        results = await asyncio.gather(*(b.get(url) for b, url in zip(browsers, callbacks, strict=True)))
        assert [r.status_code for r in results] == [302] * 4, [r.text for r in results]
        user_ids = {(await b.get(ME)).json()["user"]["id"] for b in browsers}
    finally:
        for browser in browsers:
            await browser.aclose()
    assert len(user_ids) == 1
    assert await count(app, User) == 1
    assert await count(app, OIDCIdentity) == 1


def test_default_role_is_validated_at_settings_time() -> None:
    with pytest.raises(ValidationError):
        Settings(oidc_default_role="superuser")  # type: ignore[arg-type]


async def test_disabled_linked_user_is_refused(
    app: FastAPI, client: httpx.AsyncClient, provider: OIDCTestProvider, idp_http: httpx.AsyncClient
) -> None:
    user_id = await create_user(app, "ivan", password=None, active=False)
    await link(app, user_id, provider.issuer, provider.identity.sub)
    assert_error(await sso_login(client, idp_http), 403, "account_disabled")
    assert await count(app, UserSession) == 0
    failure = (await audit(app, "auth.oidc_login", "failure"))[-1]
    assert failure.actor_id == user_id and failure.details["reason"] == "account_disabled"


async def test_identity_of_another_issuer_is_not_linked(
    app: FastAPI, client: httpx.AsyncClient, provider: OIDCTestProvider, idp_http: httpx.AsyncClient
) -> None:
    user_id = await create_user(app, "judy", password=None)
    await link(app, user_id, "https://other-idp.example", provider.identity.sub)  # same sub, other issuer
    assert_error(await sso_login(client, idp_http), 403, "sso_not_provisioned")


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


# --- admin-managed links ----------------------------------------------------------------------------


async def test_admin_links_an_identity_then_that_person_signs_in(
    app: FastAPI, client: httpx.AsyncClient, provider: OIDCTestProvider, idp_http: httpx.AsyncClient
) -> None:
    target_id = await create_user(app, "liam", password=None, role="operator")
    async with new_client(app) as admin:
        await login_as(app, admin, "root", role="admin")
        path = f"/api/v1/users/{target_id}/oidc-links"
        created = await admin.post(path, json={"subject": provider.identity.sub})
        assert created.status_code == 201, created.text
        assert created.json()["issuer"] == provider.issuer
        assert_error(await admin.post(path, json={"subject": provider.identity.sub}), 409, "conflict")
        assert_error(await admin.post("/api/v1/users/nope/oidc-links", json={"subject": "s"}), 404, "not_found")
        listed = await admin.get(path)
        assert [link["subject"] for link in listed.json()] == [provider.identity.sub]

        assert (await sso_login(client, idp_http)).status_code == 302
        assert (await client.get(ME)).json()["user"]["id"] == target_id

        deleted = await admin.delete(f"{path}/{created.json()['id']}")
        assert deleted.status_code == 204
        assert (await admin.get(path)).json() == []
    assert_error(await sso_login(client, idp_http), 403, "sso_not_provisioned")
    assert len(await audit(app, "user.oidc_link.create")) == 1
    assert len(await audit(app, "user.oidc_link.delete")) == 1


async def test_oidc_links_are_admin_only(app: FastAPI, client: httpx.AsyncClient) -> None:
    target_id = await create_user(app, "mia", password=None)
    path = f"/api/v1/users/{target_id}/oidc-links"
    assert (await client.get(path)).status_code == 401
    await login_as(app, client, "op", role="operator")
    assert (await client.get(path)).status_code == 403
    assert (await client.post(path, json={"subject": "s"})).status_code == 403
    assert await count(app, OIDCIdentity) == 0
