"""Test helpers for authenticated calls (shared by every domain's tests).

Typical use::

    from helpers import create_user, login, create_token, bearer, login_as, new_client

    admin_id = await create_user(app, "root", role="admin")
    csrf = await login(client, "root")                      # cookie now in ``client``
    await client.post("/api/v1/...", json=..., headers={"X-CSRF-Token": csrf})

    token = await create_token(app, admin_id, scopes=("read",))
    await client.get("/api/v1/...", headers=bearer(token))  # no CSRF needed

    async with new_client(app) as other:                     # a second browser (own cookie jar)
        await login_as(app, other, "bob", role="viewer")     # sets X-CSRF-Token on ``other``
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import httpx
from fastapi import FastAPI

from lxc_manager.auth.passwords import hash_password
from lxc_manager.core.db import unit_of_work
from lxc_manager.core.models import utcnow
from lxc_manager.models import APIToken, Role, User
from lxc_manager.tokens import format as token_format

DEFAULT_PASSWORD = "correct-horse-battery-staple"
ALL_SCOPES: tuple[str, ...] = ("read", "write", "admin")


async def create_user(
    app: FastAPI,
    username: str,
    password: str | None = DEFAULT_PASSWORD,
    role: str = "viewer",
    active: bool = True,
    *,
    display_name: str | None = None,
    email: str | None = None,
) -> str:
    """Insert a user straight into the database (no API, no audit) and return its id.

    ``password=None`` makes an SSO-only account. ``role`` is "admin", "operator" or "viewer".
    """
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        user = User(
            username=username,
            password_hash=hash_password(password) if password is not None else None,
            role=Role(role).value,
            is_active=active,
            display_name=display_name,
            email=email,
            password_changed_at=utcnow() if password is not None else None,
        )
        db.add(user)
        await db.flush()
        return user.id


async def login(client: httpx.AsyncClient, username: str, password: str = DEFAULT_PASSWORD) -> str:
    """Log ``client`` in through ``POST /api/v1/auth/login`` and return the CSRF token.

    The session cookie stays in the client's cookie jar; send the returned token as ``X-CSRF-Token`` on
    POST/PUT/PATCH/DELETE (or use ``login_as``, which sets it as a default header).
    """
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, f"login {username!r} failed: {response.status_code} {response.text}"
    csrf: str = response.json()["csrf_token"]
    return csrf


async def create_token(
    app: FastAPI,
    user_id: str,
    scopes: Iterable[str] = ALL_SCOPES,
    *,
    name: str = "test token",
    expires_at: datetime | None = None,
) -> str:
    """Insert an API token for ``user_id`` straight into the database and return the plaintext token.

    Effective scopes are still capped by the user's role at call time (a viewer's admin token only reads).
    """
    plaintext, parts = token_format.generate()
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        db.add(
            APIToken(
                user_id=user_id,
                name=name,
                lookup=parts.lookup,
                secret_hash=token_format.hash_secret(parts.secret),
                scopes=" ".join(scopes),
                expires_at=expires_at,
            )
        )
    return plaintext


def bearer(token: str) -> dict[str, str]:
    """``headers=`` for an API-token call."""
    return {"Authorization": f"Bearer {token}"}


def new_client(app: FastAPI, client_ip: str = "127.0.0.1") -> httpx.AsyncClient:
    """A separate client (own cookie jar) on the same app, optionally from another client address.

    Use as ``async with new_client(app) as other: ...``.
    """
    transport = httpx.ASGITransport(app=app, client=(client_ip, 50001))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@dataclass(frozen=True)
class AuthedUser:
    user_id: str
    username: str
    csrf_token: str


async def login_as(
    app: FastAPI,
    client: httpx.AsyncClient,
    username: str | None = None,
    role: str = "admin",
    password: str = DEFAULT_PASSWORD,
) -> AuthedUser:
    """Create a user with ``role`` (username defaults to the role name), log ``client`` in as them and set
    ``X-CSRF-Token`` as a default header of ``client``, so later writes just work."""
    name = username or role
    user_id = await create_user(app, name, password=password, role=role)
    csrf = await login(client, name, password)
    client.headers["X-CSRF-Token"] = csrf
    return AuthedUser(user_id=user_id, username=name, csrf_token=csrf)
