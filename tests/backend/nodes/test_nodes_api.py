"""Node CRUD over the API: validation, write-only secrets, TLS trust rules, SSRF refusals, audit."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from node_fakes import CANARY_TOKEN_SECRET, TOKEN_ID, FakePVE, make_certificate, node_payload
from sqlalchemy import select

from lxc_manager.core.config import Settings
from lxc_manager.core.db import unit_of_work
from lxc_manager.models import AuditEvent, Node
from lxc_manager.nodes.service import node_connection

# No network is touched by these: api_url points at a closed loopback port, fingerprint mode needs no probe.
PIN = make_certificate().fingerprint
OFFLINE_URL = "https://127.0.0.1:1"


def payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "pve-a",
        "api_url": OFFLINE_URL,
        "token_id": TOKEN_ID,
        "token_secret": CANARY_TOKEN_SECRET,
        "tls_mode": "fingerprint",
        "tls_fingerprint": PIN.lower().replace(":", ""),
    }
    body.update(overrides)
    return body


async def audit_actions(app: FastAPI) -> list[str]:
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        return [e.action for e in (await db.scalars(select(AuditEvent).order_by(AuditEvent.at))).all()]


async def test_create_get_list_never_return_secrets(app: FastAPI, admin_client: httpx.AsyncClient) -> None:
    created = await admin_client.post("/api/v1/nodes", json=payload())
    assert created.status_code == 201, created.text
    node = created.json()
    assert node["has_token_secret"] is True and node["has_ssh_private_key"] is False
    assert node["tls_fingerprint"] == PIN  # normalised to AA:BB:…
    assert node["api_url"] == OFFLINE_URL
    assert "token_secret" not in node and "token_secret_enc" not in node
    got = await admin_client.get(f"/api/v1/nodes/{node['id']}")
    listed = await admin_client.get("/api/v1/nodes")
    assert got.json() == node and listed.json() == [node]
    for response in (created, got, listed):
        assert CANARY_TOKEN_SECRET not in response.text
    assert "node.create" in await audit_actions(app)


async def test_update_keeps_omitted_secrets_and_replaces_given_ones(
    app: FastAPI, settings: Settings, admin_client: httpx.AsyncClient
) -> None:
    node_id = (await admin_client.post("/api/v1/nodes", json=payload())).json()["id"]
    renamed = await admin_client.patch(f"/api/v1/nodes/{node_id}", json={"name": "pve-renamed", "ssh_port": 2222})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "pve-renamed" and renamed.json()["has_token_secret"] is True
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        node = await db.get(Node, node_id)
        assert node is not None
        assert (await node_connection(db, node, settings)).token_secret == CANARY_TOKEN_SECRET
    changed = await admin_client.patch(f"/api/v1/nodes/{node_id}", json={"token_secret": "new-secret-value"})
    assert changed.status_code == 200
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        node = await db.get(Node, node_id)
        assert node is not None
        connection = await node_connection(db, node, settings)
        assert connection.token_secret == "new-secret-value"
        assert "new-secret-value" not in repr(connection) and "new-secret-value" not in str(connection)
    cleared = await admin_client.patch(f"/api/v1/nodes/{node_id}", json={"token_secret": None})
    assert cleared.status_code == 422
    assert (await audit_actions(app)).count("node.update") == 2


async def test_ssh_fields_are_parsed_and_private_key_is_write_only(
    app: FastAPI, settings: Settings, admin_client: httpx.AsyncClient
) -> None:
    import asyncssh

    private = asyncssh.generate_private_key("ssh-ed25519")
    private_text = private.export_private_key().decode()
    host_key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    body = payload(ssh_host="127.0.0.1", ssh_port=2222, ssh_user="root", ssh_private_key=private_text)
    body["ssh_host_key"] = host_key
    created = await admin_client.post("/api/v1/nodes", json=body)
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["has_ssh_private_key"] is True and out["ssh_host_key"] == host_key.strip()
    key_body = private_text.splitlines()[1]
    assert key_body not in created.text
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        node = await db.get(Node, out["id"])
        assert node is not None and node.ssh_private_key_enc is not None
        assert key_body.encode() not in node.ssh_private_key_enc
        assert (await node_connection(db, node, settings)).ssh_private_key == private_text.strip() + "\n"
    removed = await admin_client.patch(f"/api/v1/nodes/{out['id']}", json={"ssh_private_key": None})
    assert removed.json()["has_ssh_private_key"] is False


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tls_fingerprint": None}, "tls_fingerprint"),  # fingerprint mode needs the confirmed fingerprint
        ({"tls_fingerprint": "AA:BB"}, "tls_fingerprint"),
        ({"tls_mode": "system"}, "tls_fingerprint"),  # a fingerprint that system mode would silently ignore
        ({"tls_mode": "ca_bundle", "tls_fingerprint": None}, "tls_ca_bundle"),
        ({"tls_mode": "ca_bundle", "tls_fingerprint": None, "tls_ca_bundle": "not a pem"}, "tls_ca_bundle"),
        ({"tls_mode": "insecure"}, "tls_mode"),
        ({"token_id": "root@pam"}, "token_id"),
        ({"token_id": "root@pam!tok en"}, "token_id"),
        ({"token_secret": "has space\r\nX-Injected: 1"}, "token_secret"),
        ({"name": "../etc"}, "name"),
        ({"ssh_private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nCANARY-garbage\n"}, "ssh_private_key"),
        ({"ssh_host_key": "ssh-ed25519 CANARY-not-base64"}, "ssh_host_key"),
        ({"ssh_port": 0}, "ssh_port"),
        ({"unknown_field": 1}, "unknown_field"),
    ],
)
async def test_bad_input_is_a_clear_422(admin_client: httpx.AsyncClient, overrides: dict[str, Any], field: str) -> None:
    response = await admin_client.post("/api/v1/nodes", json=payload(**overrides))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "validation_error"
    assert any(field in [str(p) for p in f["loc"]] for f in body["fields"]), body
    assert "CANARY" not in response.text  # invalid secrets are not echoed either


async def test_ca_bundle_mode_accepts_a_pem_and_drops_the_fingerprint(admin_client: httpx.AsyncClient) -> None:
    pem = make_certificate().cert_pem.decode()
    body = payload(tls_mode="ca_bundle", tls_ca_bundle=pem)
    del body["tls_fingerprint"]
    created = await admin_client.post("/api/v1/nodes", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["tls_fingerprint"] is None and "BEGIN CERTIFICATE" in created.json()["tls_ca_bundle"]
    switched = await admin_client.patch(
        f"/api/v1/nodes/{created.json()['id']}", json={"tls_mode": "fingerprint", "tls_fingerprint": PIN}
    )
    assert switched.status_code == 200, switched.text
    assert switched.json()["tls_ca_bundle"] is None and switched.json()["tls_fingerprint"] == PIN


async def test_duplicate_name_conflicts_and_delete_is_audited(app: FastAPI, admin_client: httpx.AsyncClient) -> None:
    first = await admin_client.post("/api/v1/nodes", json=payload())
    again = await admin_client.post("/api/v1/nodes", json=payload())
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    second = await admin_client.post("/api/v1/nodes", json=payload(name="pve-b"))
    rename = await admin_client.patch(f"/api/v1/nodes/{second.json()['id']}", json={"name": "pve-a"})
    assert rename.status_code == 409
    deleted = await admin_client.delete(f"/api/v1/nodes/{first.json()['id']}")
    assert deleted.status_code == 204
    assert (await admin_client.get(f"/api/v1/nodes/{first.json()['id']}")).status_code == 404
    assert (await admin_client.delete(f"/api/v1/nodes/{first.json()['id']}")).status_code == 404
    assert "node.delete" in await audit_actions(app)


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254",
        "https://169.254.169.254:8006",
        "https://[fe80::1]:8006",
        "https://[::ffff:169.254.169.254]",
        "https://[fd00:ec2::254]",
        "https://0.0.0.0:8006",
        "https://[::]:8006",
        "https://224.0.0.1",
        "https://240.0.0.1",
        "http://10.0.0.5:8006",
        "ftp://10.0.0.5",
        "https://user:pw@10.0.0.5:8006",
        "https://10.0.0.5:8006/some/path",
        "https://10.0.0.5:8006?x=1",
        "https://10.0.0.5:99999",
        "https://bad_host!:8006",
        "https://no-such-host.invalid:8006",
    ],
)
async def test_ssrf_targets_are_refused(admin_client: httpx.AsyncClient, url: str) -> None:
    response = await admin_client.post("/api/v1/nodes", json=payload(api_url=url))
    assert response.status_code == 422, response.text
    probe = await admin_client.post("/api/v1/nodes/probe-certificate", json={"api_url": url})
    assert probe.status_code == 422, probe.text


async def test_ssh_host_is_checked_like_the_api_host(admin_client: httpx.AsyncClient) -> None:
    response = await admin_client.post("/api/v1/nodes", json=payload(ssh_host="169.254.169.254"))
    assert response.status_code == 422
    assert response.json()["fields"][0]["loc"] == ["body", "ssh_host"]


async def test_default_port_is_8006(admin_client: httpx.AsyncClient) -> None:
    response = await admin_client.post("/api/v1/nodes", json=payload(api_url="https://127.0.0.1/"))
    assert response.status_code == 201, response.text
    assert response.json()["api_url"] == "https://127.0.0.1:8006"


async def test_writes_need_admin_and_csrf(app: FastAPI, fake_pve: FakePVE) -> None:
    from helpers import login, login_as, new_client

    async with new_client(app) as operator:
        await login_as(app, operator, "ops", role="operator")
        denied = await operator.post("/api/v1/nodes", json=node_payload(fake_pve))
        assert denied.status_code == 403
    async with new_client(app) as admin:
        await login_as(app, admin, "boss", role="admin")
        admin.headers.pop("X-CSRF-Token")
        no_csrf = await admin.post("/api/v1/nodes", json=node_payload(fake_pve))
        assert no_csrf.status_code == 403 and no_csrf.json()["error"] == "csrf_failed"
        csrf = await login(admin, "boss")
        ok = await admin.post("/api/v1/nodes", json=node_payload(fake_pve), headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 201


async def test_connection_cannot_be_pickled_into_a_job(
    app: FastAPI, settings: Settings, admin_client: httpx.AsyncClient
) -> None:
    import pickle

    node_id = (await admin_client.post("/api/v1/nodes", json=payload())).json()["id"]
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        node = await db.get(Node, node_id)
        assert node is not None
        connection = await node_connection(db, node, settings)
    with pytest.raises(TypeError, match="pass the node id"):
        pickle.dumps(connection)
    assert CANARY_TOKEN_SECRET not in repr(connection) and CANARY_TOKEN_SECRET not in f"{connection}"


async def test_a_ciphertext_moved_to_another_row_is_refused_cleanly(
    app: FastAPI, admin_client: httpx.AsyncClient
) -> None:
    first = (await admin_client.post("/api/v1/nodes", json=payload())).json()["id"]
    second = (await admin_client.post("/api/v1/nodes", json=payload(name="pve-b"))).json()["id"]
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        a, b = await db.get(Node, first), await db.get(Node, second)
        assert a is not None and b is not None
        b.token_secret_enc = a.token_secret_enc  # e.g. an attacker with DB write access copies a secret
    response = await admin_client.post(f"/api/v1/nodes/{second}/test")
    assert response.status_code == 503
    assert response.json()["error"] == "secret_unreadable" and "pve-b" in response.json()["detail"]
    assert CANARY_TOKEN_SECRET not in response.text
