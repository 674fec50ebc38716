"""``POST /api/v1/containers/{id}/credentials/{name}/reveal``: write scope, node access, audited without the value."""

from __future__ import annotations

import json

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from helpers import bearer, create_token, create_user, login, new_client
from lxc_manager.containers.service import store_credential
from lxc_manager.core.crypto import load_keyring
from lxc_manager.core.db import unit_of_work
from lxc_manager.models import AuditEvent, Container, Node, NodeAccess
from lxc_manager.nodes.connection import node_secret_context

SECRET = "s3cret-Value-42"


async def _container_with_credential(app: FastAPI, *, granted_to: tuple[str, ...] = ()) -> str:
    """A node (granted to ``granted_to``) holding a container with one stored credential ``admin_password``."""
    state = app.state.lxcm
    async with unit_of_work(state.sessionmaker) as db:
        node = Node(name="pve-a", api_url="https://pve-a.invalid:8006", token_id="root@pam!t", token_secret_enc=b"")
        node.id = "node-pve-a"
        node.token_secret_enc = load_keyring(state.settings).encrypt("x", node_secret_context(node.id, "token_secret"))
        db.add(node)
        await db.flush()
        for user_id in granted_to:
            db.add(NodeAccess(node_id=node.id, user_id=user_id))
        container = Container(
            node_id=node.id, pve_node="pve1", vmid=123, hostname="web", template_name="minimal", template_revision=1
        )
        db.add(container)
        await db.flush()
        await store_credential(db, state.settings, container, "admin_password", SECRET, "Admin login")
        return container.id


async def _audit_rows(app: FastAPI) -> list[AuditEvent]:
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        query = select(AuditEvent).where(AuditEvent.action == "container.credential.reveal")
        return list((await db.scalars(query)).all())


def _url(container_id: str, name: str = "admin_password") -> str:
    return f"/api/v1/containers/{container_id}/credentials/{name}/reveal"


async def test_reveal_returns_the_value_and_audits_without_it(app: FastAPI) -> None:
    alice_id = await create_user(app, "alice", role="operator")
    container_id = await _container_with_credential(app, granted_to=(alice_id,))
    alice = bearer(await create_token(app, alice_id, scopes=("read", "write")))
    async with new_client(app) as http:
        response = await http.post(_url(container_id), headers=alice)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "container_id": container_id,
        "name": "admin_password",
        "description": "Admin login",
        "value": SECRET,
    }
    assert response.headers["cache-control"] == "no-store"
    (row,) = await _audit_rows(app)
    assert row.actor_id == alice_id and row.outcome == "success"
    assert row.target_type == "container" and row.target_id == container_id
    assert row.details["credential"] == "admin_password"
    assert SECRET not in json.dumps(row.details, default=str)


async def test_reveal_refused_for_viewer_and_for_a_node_without_access(app: FastAPI) -> None:
    viewer_id = await create_user(app, "vera", role="viewer")
    outsider_id = await create_user(app, "bob", role="operator")
    container_id = await _container_with_credential(app, granted_to=(viewer_id,))
    viewer = bearer(await create_token(app, viewer_id, scopes=("read", "write")))
    outsider = bearer(await create_token(app, outsider_id, scopes=("read", "write")))
    async with new_client(app) as http:
        refused = await http.post(_url(container_id), headers=viewer)
        assert refused.status_code == 403, refused.text
        hidden = await http.post(_url(container_id), headers=outsider)
        seen = await http.get(f"/api/v1/containers/{container_id}", headers=outsider)
    # The same answer as reading the container: its existence is not disclosed.
    assert hidden.status_code == seen.status_code == 404
    assert hidden.json()["error"] == seen.json()["error"] == "not_found"
    for response in (refused, hidden):
        assert SECRET not in response.text
    assert await _audit_rows(app) == []


async def test_reveal_unknown_name_or_container_is_404(app: FastAPI) -> None:
    admin_id = await create_user(app, "root", role="admin")
    container_id = await _container_with_credential(app)
    admin = bearer(await create_token(app, admin_id))
    async with new_client(app) as http:
        unknown = await http.post(_url(container_id, "nope"), headers=admin)
        assert unknown.status_code == 404 and unknown.json()["detail"] == "Credential not found"
        assert (await http.post(_url("no-such-container"), headers=admin)).status_code == 404
        assert (await http.post(_url(container_id, "bad%20name"), headers=admin)).status_code == 422
    assert await _audit_rows(app) == []


async def test_reveal_with_a_session_needs_the_csrf_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    await create_user(app, "root", role="admin")
    container_id = await _container_with_credential(app)
    csrf = await login(client, "root")
    missing = await client.post(_url(container_id))
    assert missing.status_code == 403, missing.text
    assert SECRET not in missing.text
    ok = await client.post(_url(container_id), headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.json()["value"] == SECRET
    assert len(await _audit_rows(app)) == 1
