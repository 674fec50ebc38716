"""Drive the SSO flow like a browser: the app over ASGI, the provider over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from lxc_manager.core.db import unit_of_work
from lxc_manager.models import AuditEvent, OIDCIdentity, User

LOGIN = "/api/v1/auth/oidc/login"
CALLBACK = "http://testserver/api/v1/auth/oidc/callback"
ME = "/api/v1/auth/me"


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
