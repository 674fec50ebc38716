"""Account linking strictly by (issuer, subject), auto-provisioning, disabled users and admin-managed links."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from helpers import create_user, login_as, new_client
from lxc_manager.core.config import Settings
from lxc_manager.models import OIDCIdentity, User, UserSession
from oidc_provider import OIDCTestProvider, TestIdentity
from sso.flow import ME, assert_error, audit, authorize, count, link, sso_login, start, user_by_name

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
