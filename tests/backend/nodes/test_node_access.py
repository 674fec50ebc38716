"""Per-user node access: who sees which node (404 for the rest), grants and revocations (admin, audited)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from node_fakes import TOKEN_ID, make_certificate
from sqlalchemy import select

from helpers import bearer, create_token, create_user, login, new_client
from lxc_manager.auth.principal import ROLE_SCOPES, Principal
from lxc_manager.core.db import unit_of_work
from lxc_manager.core.errors import NotFound
from lxc_manager.models import AuditEvent, Role, User
from lxc_manager.nodes.service import get_visible_node, list_visible_nodes

PIN = make_certificate().fingerprint


def node_body(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "api_url": "https://127.0.0.1:8006",
        "token_id": TOKEN_ID,
        "token_secret": "secret",
        "tls_fingerprint": PIN,
    }


@pytest.fixture
async def world(app: FastAPI, admin_client: httpx.AsyncClient) -> dict[str, str]:
    """Nodes A and B; an operator granted A, an operator without grants, a viewer granted B."""
    ids = {}
    for name in ("node-a", "node-b"):
        response = await admin_client.post("/api/v1/nodes", json=node_body(name))
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
    ids["granted_op"] = await create_user(app, "granted-op", role="operator")
    ids["lonely_op"] = await create_user(app, "lonely-op", role="operator")
    ids["viewer"] = await create_user(app, "viewer-b", role="viewer")
    grant = await admin_client.put(f"/api/v1/nodes/{ids['node-a']}/access", json={"user_ids": [ids["granted_op"]]})
    assert grant.status_code == 200, grant.text
    assert [g["username"] for g in grant.json()] == ["granted-op"]
    single = await admin_client.post(f"/api/v1/nodes/{ids['node-b']}/access/{ids['viewer']}")
    assert single.status_code == 200 and single.json()["username"] == "viewer-b"
    return ids


@pytest.mark.parametrize(
    ("user", "visible"),
    [("admin", {"node-a", "node-b"}), ("granted_op", {"node-a"}), ("lonely_op", set()), ("viewer", {"node-b"})],
)
async def test_visibility_matrix(app: FastAPI, world: dict[str, str], user: str, visible: set[str]) -> None:
    user_id = world.get(user) or await create_user(app, "admin-2", role="admin")
    token = await create_token(app, user_id, scopes=("read", "write", "admin"))
    async with new_client(app) as http:
        listed = await http.get("/api/v1/nodes", headers=bearer(token))
        assert listed.status_code == 200
        assert {n["name"] for n in listed.json()} == visible
        for name in ("node-a", "node-b"):
            got = await http.get(f"/api/v1/nodes/{world[name]}", headers=bearer(token))
            if name in visible:
                assert got.status_code == 200 and got.json()["name"] == name
            else:  # exactly what an id that never existed answers
                missing = await http.get("/api/v1/nodes/11111111-2222-3333-4444-555555555555", headers=bearer(token))
                assert (
                    (got.status_code, got.json())
                    == (missing.status_code, missing.json())
                    == (
                        404,
                        {"error": "not_found", "detail": "Node not found"},
                    )
                )


async def test_non_admins_cannot_write_test_or_manage_access(app: FastAPI, world: dict[str, str]) -> None:
    async with new_client(app) as http:
        http.headers["X-CSRF-Token"] = await login(http, "granted-op")
        node = world["node-a"]
        attempts = [
            http.post("/api/v1/nodes", json=node_body("node-c")),
            http.patch(f"/api/v1/nodes/{node}", json={"name": "mine"}),
            http.delete(f"/api/v1/nodes/{node}"),
            http.post(f"/api/v1/nodes/{node}/test"),
            http.post("/api/v1/nodes/probe-certificate", json={"api_url": "https://127.0.0.1:8006"}),
            http.get(f"/api/v1/nodes/{node}/access"),
            http.put(f"/api/v1/nodes/{node}/access", json={"user_ids": []}),
            http.post(f"/api/v1/nodes/{node}/access/{world['lonely_op']}"),
            http.delete(f"/api/v1/nodes/{node}/access/{world['granted_op']}"),
        ]
        for attempt in attempts:
            response = await attempt
            assert response.status_code == 403, response.text


async def test_grant_revoke_replace_are_audited(
    app: FastAPI, admin_client: httpx.AsyncClient, world: dict[str, str]
) -> None:
    node = world["node-a"]
    listed = await admin_client.get(f"/api/v1/nodes/{node}/access")
    assert [g["user_id"] for g in listed.json()] == [world["granted_op"]]
    again = await admin_client.post(f"/api/v1/nodes/{node}/access/{world['granted_op']}")  # idempotent
    assert again.status_code == 200
    revoked = await admin_client.delete(f"/api/v1/nodes/{node}/access/{world['granted_op']}")
    assert revoked.status_code == 204
    assert (await admin_client.delete(f"/api/v1/nodes/{node}/access/{world['granted_op']}")).status_code == 404
    replaced = await admin_client.put(
        f"/api/v1/nodes/{node}/access", json={"user_ids": [world["lonely_op"], world["viewer"]]}
    )
    assert {g["username"] for g in replaced.json()} == {"lonely-op", "viewer-b"}
    unknown = await admin_client.put(f"/api/v1/nodes/{node}/access", json={"user_ids": ["no-such-user"]})
    assert unknown.status_code == 422 and "no-such-user" in unknown.json()["detail"]
    assert (await admin_client.post(f"/api/v1/nodes/{node}/access/no-such-user")).status_code == 404
    assert (await admin_client.get("/api/v1/nodes/no-such-node/access")).status_code == 404
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        events = (
            await db.scalars(
                select(AuditEvent).where(AuditEvent.action.startswith("node.access")).order_by(AuditEvent.at)
            )
        ).all()
    actions = [e.action for e in events]
    # set (fixture) + grant (fixture) + revoke + set; the repeated grant changed nothing and is not recorded
    assert actions == ["node.access.set", "node.access.grant", "node.access.revoke", "node.access.set"]
    assert events[-1].details["granted"] == sorted([world["lonely_op"], world["viewer"]])
    assert events[-1].actor_name == "root"


async def test_deleting_a_node_removes_its_grants(
    app: FastAPI, admin_client: httpx.AsyncClient, world: dict[str, str]
) -> None:
    assert (await admin_client.delete(f"/api/v1/nodes/{world['node-a']}")).status_code == 204
    token = await create_token(app, world["granted_op"], scopes=("read",))
    async with new_client(app) as http:
        assert (await http.get("/api/v1/nodes", headers=bearer(token))).json() == []


async def test_service_functions_for_other_domains(app: FastAPI, world: dict[str, str]) -> None:
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        user = await db.get(User, world["granted_op"])
        assert user is not None
        principal = Principal(user=user, via="session", scopes=ROLE_SCOPES[Role.operator])
        assert [n.name for n in await list_visible_nodes(db, principal)] == ["node-a"]
        assert (await get_visible_node(db, principal, world["node-a"])).name == "node-a"
        with pytest.raises(NotFound):
            await get_visible_node(db, principal, world["node-b"])
