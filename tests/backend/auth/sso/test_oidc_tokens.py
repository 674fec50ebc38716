"""ID token validation: every misbehaving-provider case is refused and opens no session; JWKS caching and
key rotation; a hypothesis fuzz of the validator.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import socket

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import settings as settings_profile
from hypothesis import strategies as st
from joserfc.jwk import KeySet, RSAKey

from helpers import create_user
from lxc_manager.auth import oidc_client
from lxc_manager.core.config import Settings
from lxc_manager.models import User, UserSession
from oidc_provider import Misbehaviour, OIDCTestProvider
from sso.flow import ME, assert_error, audit, authorize, count, link, sso_login, start

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
