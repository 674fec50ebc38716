"""POST /api/v1/deployments: stored with secrets only encrypted, enqueued after commit with the id as the only
argument (in-process queue and real Redis/arq), audited; secrets never in responses, rows, job payloads or logs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from sqlalchemy import select, text
from structlog.testing import capture_logs

from helpers import bearer, create_token, create_user, new_client
from lxc_manager.core.config import Settings
from lxc_manager.core.db import unit_of_work
from lxc_manager.core.errors import ServiceUnavailable
from lxc_manager.core.jobs import JOB_REGISTRY
from lxc_manager.deployments.secrets import decrypt_deployment_secrets, secret_inputs
from lxc_manager.main import create_app
from lxc_manager.models import AuditEvent, Deployment
from simnodes import register_nodes, running_simulator

ROOT_PASSWORD = "root-pass-5678-zz"
ADMIN_INPUT = "input-secret-1234-zz"


def request_body(node_id: str) -> dict[str, Any]:
    return {
        "template": "minimal",
        "node_id": node_id,
        "hostname": "web-01",
        "root_password": ROOT_PASSWORD,
        "inputs": {"greeting": "hello", "admin_password": ADMIN_INPUT},
        "tags": ["demo"],
    }


@pytest.fixture
def recorded_jobs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replace the pipeline job by a recorder (these tests are about storing and enqueueing)."""
    calls: list[dict[str, Any]] = []

    async def run_deployment(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        calls.append({"job_id": ctx["job_id"], "args": args, "kwargs": kwargs})

    monkeypatch.setitem(JOB_REGISTRY, "run_deployment", run_deployment)
    return calls


async def _all_rows_text(app: FastAPI) -> str:
    """Every column of every deployment, event and audit row, as text (bytes decoded leniently)."""
    chunks: list[str] = []
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        for table in ("deployments", "deployment_events", "audit_events"):
            for row in (await db.execute(text(f"SELECT * FROM {table}"))).all():
                for value in row:
                    chunks.append(value.decode("latin-1") if isinstance(value, bytes) else str(value))
    return "\n".join(chunks)


async def test_create_stores_encrypted_secrets_and_enqueues_the_id_only(
    caplog: pytest.LogCaptureFixture, app: FastAPI, settings: Settings, tmp_path: Path,
    recorded_jobs: list[dict[str, Any]],
) -> None:  # fmt: skip
    admin_id = await create_user(app, "root", role="admin")
    admin = bearer(await create_token(app, admin_id))
    async with running_simulator(tmp_path / "sim") as sim, new_client(app) as http:
        nodes = await register_nodes(http, sim, admin)
        with capture_logs() as structured:
            created = await http.post("/api/v1/deployments", json=request_body(nodes["pve1"]), headers=admin)
            await app.state.lxcm.jobs.drain()
        assert created.status_code == 201, created.text
        body = created.json()
        fetched = await http.get(f"/api/v1/deployments/{body['id']}", headers=admin)
        listed = await http.get("/api/v1/deployments", headers=admin)
    deployment_id = body["id"]
    assert body["status"] == "pending" and body["template_name"] == "minimal" and body["node_id"] == nodes["pve1"]
    assert body["hostname"] == "web-01" and len(body["template_hash"]) == 64
    assert body["request"]["inputs"] == {"greeting": "hello", "admin_password": "********"}
    assert body["request"]["root_password_set"] is True and "root_password" not in body["request"]
    assert body["inputs"]["admin_password"] == "********" and body["plan"]["pve_params"]["password"] == "********"
    assert [p["name"] for p in body["phases"]] == ["create", "start", "provision", "verify", "finalize"]
    assert listed.json()["total"] == 1 and listed.json()["items"][0]["id"] == deployment_id

    # Enqueued once, after commit, with the deployment id as the only argument.
    assert recorded_jobs == [{"job_id": f"deployment:{deployment_id}", "args": (deployment_id,), "kwargs": {}}]

    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        row = (await db.scalars(select(Deployment).where(Deployment.id == deployment_id))).one()
        secrets = decrypt_deployment_secrets(settings, row)
        assert secrets["root_password"] == ROOT_PASSWORD
        assert secret_inputs(secrets) == {"admin_password": ADMIN_INPUT}
        assert row.inputs == {"greeting": "hello"}  # non-secret inputs only
        audit = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "deployment.create"))).one()
        assert audit.target_id == deployment_id
        # The ciphertext is bound to its row: copied to another deployment it does not decrypt.
        row.id = "another-deployment"
        with pytest.raises(ServiceUnavailable):
            decrypt_deployment_secrets(settings, row)
        await db.rollback()

    stored = await _all_rows_text(app)
    logs = repr(structured) + caplog.text
    assert "deployment.create" in stored and "deployment.create" in logs  # the places searched are not empty
    for secret in (ROOT_PASSWORD, ADMIN_INPUT):
        for where, content in (("responses", created.text + fetched.text + listed.text), ("database", stored),
                               ("logs", logs), ("job arguments", repr(recorded_jobs))):  # fmt: skip
            assert secret not in content, f"a secret leaked into {where}"


async def test_arq_job_payload_in_redis_holds_only_the_id(redis_url: str, settings: Settings, tmp_path: Path) -> None:
    app = create_app(settings.model_copy(update={"redis_url": redis_url}))
    async with app.router.lifespan_context(app):
        admin = bearer(await create_token(app, await create_user(app, "root", role="admin")))
        async with running_simulator(tmp_path / "sim") as sim, new_client(app) as http:
            nodes = await register_nodes(http, sim, admin)
            created = await http.post("/api/v1/deployments", json=request_body(nodes["pve1"]), headers=admin)
            assert created.status_code == 201, created.text
    deployment_id = created.json()["id"]
    client = aioredis.from_url(redis_url)
    try:
        raw = await client.get(f"arq:job:deployment:{deployment_id}")
        assert raw is not None, "the job was not enqueued in Redis"
        payload = json.loads(raw)  # JSON serializer, not pickle
        assert payload["f"] == "run_deployment" and payload["a"] == [deployment_id] and payload["k"] == {}
        everything = b"".join(
            [raw, *[await client.dump(key) or b"" for key in await client.keys(f"*{deployment_id}*")]]
        )
        for secret in (ROOT_PASSWORD, ADMIN_INPUT):
            assert secret.encode() not in everything
        await client.delete(f"arq:job:deployment:{deployment_id}")
        await client.zrem("arq:queue", f"deployment:{deployment_id}")
    finally:
        await client.aclose()
