"""Certificate probe and node test against a fake PVE served over real TLS on 127.0.0.1."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from node_fakes import FULL_PERMISSIONS, FakePVE, make_certificate, node_payload, serve_tls
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from lxc_manager.core.db import unit_of_work
from lxc_manager.models import AuditEvent
from lxc_manager.nodes.checks import missing_privileges


async def create(client: httpx.AsyncClient, pve: FakePVE, **overrides: Any) -> str:
    response = await client.post("/api/v1/nodes", json=node_payload(pve, **overrides))
    assert response.status_code == 201, response.text
    node_id: str = response.json()["id"]
    return node_id


async def last_audit(app: FastAPI, action: str) -> AuditEvent:
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        events = (await db.scalars(select(AuditEvent).where(AuditEvent.action == action))).all()
    assert events, f"no {action} audit event"
    return events[-1]


def checks_by_name(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in result["checks"]}


async def test_probe_returns_the_certificate_without_any_http_request(
    app: FastAPI, admin_client: httpx.AsyncClient, fake_pve: FakePVE
) -> None:
    assert fake_pve.certificate is not None
    response = await admin_client.post("/api/v1/nodes/probe-certificate", json={"api_url": fake_pve.url})
    assert response.status_code == 200, response.text
    probe = response.json()
    assert probe["fingerprint_sha256"] == fake_pve.certificate.fingerprint
    assert probe["subject"] == "CN=pve1.test" and probe["issuer"] == "CN=pve1.test"
    assert set(probe["san"]) == {"pve1.test", "127.0.0.1"}
    assert probe["api_url"] == fake_pve.url
    assert fake_pve.requests == []  # handshake only: no request, so no credential
    # The admin confirms by sending that fingerprint back.
    node_id = await create(admin_client, fake_pve, tls_fingerprint=probe["fingerprint_sha256"])
    assert (await admin_client.post(f"/api/v1/nodes/{node_id}/test")).json()["ok"] is True
    assert (await last_audit(app, "node.probe_certificate")).details["fingerprint_sha256"] == probe[
        "fingerprint_sha256"
    ]


async def test_probe_of_a_closed_port_is_a_clear_4xx(admin_client: httpx.AsyncClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends
    response = await admin_client.post("/api/v1/nodes/probe-certificate", json={"api_url": f"https://127.0.0.1:{port}"})
    assert response.status_code == 422
    assert response.json()["error"] == "node_unreachable"


async def test_node_test_all_good(app: FastAPI, admin_client: httpx.AsyncClient, fake_pve: FakePVE) -> None:
    node_id = await create(admin_client, fake_pve)
    response = await admin_client.post(f"/api/v1/nodes/{node_id}/test")
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["ok"] is True, result
    assert result["version"] == "9.1.2" and result["missing_privileges"] == []
    assert set(checks_by_name(result)) == {
        "address",
        "reachability",
        "tls",
        "authentication",
        "version",
        "node",
        "privileges",
    }
    assert all(request["headers"]["authorization"].startswith("PVEAPIToken=") for request in fake_pve.requests)
    node = (await admin_client.get(f"/api/v1/nodes/{node_id}")).json()
    assert node["last_test_ok"] is True and node["last_test_at"] and node["pve_version"] == "9.1.2"
    assert (await last_audit(app, "node.test")).outcome == "success"


async def test_missing_sdn_use_is_named_in_plain_words(
    app: FastAPI, admin_client: httpx.AsyncClient, fake_pve: FakePVE
) -> None:
    fake_pve.permissions = {path: privs for path, privs in FULL_PERMISSIONS.items() if not path.startswith("/sdn")}
    node_id = await create(admin_client, fake_pve)
    result = (await admin_client.post(f"/api/v1/nodes/{node_id}/test")).json()
    assert result["ok"] is False
    assert result["missing_privileges"] == ["SDN.Use"]
    message = checks_by_name(result)["privileges"]["message"]
    assert "SDN.Use" in message and "bridges" in message
    assert (await admin_client.get(f"/api/v1/nodes/{node_id}")).json()["last_test_ok"] is False
    event = await last_audit(app, "node.test")
    assert event.outcome == "failure" and event.details["missing_privileges"] == ["SDN.Use"]


async def test_pin_mismatch_fails_before_any_authorization_header(
    app: FastAPI, admin_client: httpx.AsyncClient, fake_pve: FakePVE
) -> None:
    other = make_certificate("someone-else.test")  # the pin of a different certificate: a swapped cert
    node_id = await create(admin_client, fake_pve, tls_fingerprint=other.fingerprint)
    result = (await admin_client.post(f"/api/v1/nodes/{node_id}/test")).json()
    checks = checks_by_name(result)
    assert result["ok"] is False and checks["tls"]["ok"] is False
    assert "No credential was sent" in checks["tls"]["message"]
    assert fake_pve.certificate is not None and fake_pve.certificate.fingerprint in checks["tls"]["message"]
    assert "authentication" not in checks
    assert fake_pve.requests == []  # the server never saw an HTTP request, so never an Authorization header
    event = await last_audit(app, "node.test")
    assert event.outcome == "failure"
    assert event.details["tls_pin_mismatch"] == {
        "expected": other.fingerprint,
        "actual": fake_pve.certificate.fingerprint,
    }


async def test_ca_bundle_trust_and_a_wrong_ca(admin_client: httpx.AsyncClient, fake_pve: FakePVE) -> None:
    assert fake_pve.certificate is not None
    good = await create(
        admin_client,
        fake_pve,
        tls_mode="ca_bundle",
        tls_fingerprint=None,
        tls_ca_bundle=fake_pve.certificate.cert_pem.decode(),
    )
    assert (await admin_client.post(f"/api/v1/nodes/{good}/test")).json()["ok"] is True
    requests_so_far = len(fake_pve.requests)
    bad = await create(
        admin_client,
        fake_pve,
        name="pve-wrong-ca",
        tls_mode="ca_bundle",
        tls_fingerprint=None,
        tls_ca_bundle=make_certificate().cert_pem.decode(),
    )
    result = (await admin_client.post(f"/api/v1/nodes/{bad}/test")).json()
    assert checks_by_name(result)["tls"]["ok"] is False
    assert len(fake_pve.requests) == requests_so_far  # nothing reached the server


async def test_wrong_token_secret_and_unreachable_node(admin_client: httpx.AsyncClient, fake_pve: FakePVE) -> None:
    node_id = await create(admin_client, fake_pve, token_secret="not-the-right-secret")
    result = (await admin_client.post(f"/api/v1/nodes/{node_id}/test")).json()
    checks = checks_by_name(result)
    assert checks["tls"]["ok"] is True and checks["authentication"]["ok"] is False
    assert "rejected the API token" in checks["authentication"]["message"]

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    closed = await create(admin_client, fake_pve, name="pve-closed", api_url=f"https://127.0.0.1:{port}")
    checks = checks_by_name((await admin_client.post(f"/api/v1/nodes/{closed}/test")).json())
    assert checks["reachability"]["ok"] is False


async def test_redirects_are_not_followed_and_bodies_not_echoed(
    admin_client: httpx.AsyncClient, fake_pve: FakePVE, tmp_path: Path
) -> None:
    hits: list[str] = []

    async def redirect(request: Request) -> RedirectResponse:
        hits.append(request.url.path)
        return RedirectResponse(f"{fake_pve.url}/api2/json/version", status_code=302)

    async def teapot(request: Request) -> JSONResponse:
        hits.append(request.url.path)
        return JSONResponse({"errors": {"x": "UPSTREAM-BODY-MARKER"}}, status_code=418)

    app = Starlette(routes=[Route("/api2/json/version", redirect), Route("/api2/json/nodes", teapot)])
    certificate = make_certificate("redirector.test")
    (tmp_path / "redirector").mkdir()
    url, server, task = await serve_tls(app, certificate, tmp_path / "redirector")
    try:
        node_id = await create(
            admin_client, fake_pve, name="redirector", api_url=url, tls_fingerprint=certificate.fingerprint
        )
        response = await admin_client.post(f"/api/v1/nodes/{node_id}/test")
        assert response.status_code == 200
        assert response.json()["ok"] is False
        assert hits == ["/api2/json/version"] and fake_pve.requests == []  # the redirect target was not visited
        assert "UPSTREAM-BODY-MARKER" not in response.text
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def test_test_of_unknown_node_is_404(admin_client: httpx.AsyncClient) -> None:
    response = await admin_client.post("/api/v1/nodes/00000000-0000-0000-0000-000000000000/test")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_privilege_evaluation_follows_pve_propagation() -> None:
    everything = {p for privs in FULL_PERMISSIONS.values() for p in privs}
    root_propagating = {"/": dict.fromkeys(everything, 1)}
    assert missing_privileges(root_propagating, "pve1") == []
    root_not_propagating = {"/": dict.fromkeys(everything, 0)}
    assert {r.privilege for r in missing_privileges(root_not_propagating, "pve1")} == everything
    via_pool = dict(FULL_PERMISSIONS)
    via_pool["/pool/lab"] = via_pool.pop("/vms")
    assert missing_privileges(via_pool, "pve1") == []
    other_node = dict(FULL_PERMISSIONS)
    other_node["/nodes/pve2"] = other_node.pop("/nodes")
    assert [r.privilege for r in missing_privileges(other_node, "pve1")] == ["Sys.Audit"]
    # PVE's rule: a more specific entry overrides what "/" propagates (e.g. the NoAccess role on /vms).
    overridden = {"/": dict.fromkeys(everything, 1), "/vms": {}}
    assert "VM.Allocate" in {r.privilege for r in missing_privileges(overridden, "pve1")}
    assert "Datastore.Audit" not in {r.privilege for r in missing_privileges(overridden, "pve1")}
    sibling_not_parent = {"/vmsX": {"VM.Allocate": 1}}
    assert "VM.Allocate" in {r.privilege for r in missing_privileges(sibling_not_parent, "pve1")}


async def test_a_rebinding_host_is_caught_by_the_recheck_before_connecting(
    admin_client: httpx.AsyncClient, fake_pve: FakePVE, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name that resolved to an allowed address at registration and to the metadata service later."""
    from lxc_manager.nodes import urls

    answers = iter([["127.0.0.1"], ["169.254.169.254"]])

    async def rebinding_resolver(host: str) -> list[urls.IPAddress]:
        assert host == "pve.rebind.test"
        return [ipaddress.ip_address(a) for a in next(answers)]

    monkeypatch.setattr(urls, "resolve", rebinding_resolver)
    port = fake_pve.url.rsplit(":", 1)[1]
    node_id = await create(admin_client, fake_pve, api_url=f"https://pve.rebind.test:{port}")
    result = (await admin_client.post(f"/api/v1/nodes/{node_id}/test")).json()
    assert result["ok"] is False
    assert result["checks"] == [
        {
            "name": "address",
            "ok": False,
            "message": "The API address is not allowed: 169.254.169.254 is a link-local/cloud-metadata address.",
        }
    ]
    assert fake_pve.requests == []


async def test_a_name_with_any_refused_address_is_refused(
    admin_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lxc_manager.nodes import urls

    async def mixed(host: str) -> list[urls.IPAddress]:
        return [ipaddress.ip_address("10.0.0.5"), ipaddress.ip_address("fe80::1")]

    monkeypatch.setattr(urls, "resolve", mixed)
    response = await admin_client.post(
        "/api/v1/nodes/probe-certificate", json={"api_url": "https://pve.mixed.test:8006"}
    )
    assert response.status_code == 422 and "fe80::1" in response.json()["detail"]


async def test_ssh_key_without_a_pinned_host_key_is_reported(
    admin_client: httpx.AsyncClient, fake_pve: FakePVE
) -> None:
    import asyncssh

    key = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    node_id = await create(admin_client, fake_pve, ssh_private_key=key)
    result = (await admin_client.post(f"/api/v1/nodes/{node_id}/test")).json()
    checks = checks_by_name(result)
    assert checks["privileges"]["ok"] is True and checks["ssh"]["ok"] is False
    assert "no SSH host key is pinned" in checks["ssh"]["message"] and result["ok"] is False
