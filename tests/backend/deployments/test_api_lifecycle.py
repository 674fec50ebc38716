"""List, read, cancel and retry: state rules, visibility, filters and pagination (rows made directly)."""

from __future__ import annotations

from typing import Any

import pytest
from deployfix import insert_deployment, insert_node
from fastapi import FastAPI
from sqlalchemy import select

from helpers import bearer, create_token, create_user, new_client
from lxc_manager.core.db import unit_of_work
from lxc_manager.core.jobs import JOB_REGISTRY
from lxc_manager.models import DeploymentEvent


@pytest.fixture
def recorded_jobs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    calls: list[tuple[str, tuple[Any, ...]]] = []

    async def run_deployment(ctx: dict[str, Any], *args: Any) -> None:
        calls.append((ctx["job_id"], args))

    monkeypatch.setitem(JOB_REGISTRY, "run_deployment", run_deployment)
    return calls


async def _events(app: FastAPI, deployment_id: str) -> list[DeploymentEvent]:
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        query = select(DeploymentEvent).where(DeploymentEvent.deployment_id == deployment_id)
        return list((await db.scalars(query.order_by(DeploymentEvent.seq))).all())


async def test_cancel_and_retry_follow_the_state_rules(
    app: FastAPI, recorded_jobs: list[tuple[str, tuple[Any, ...]]]
) -> None:
    admin_id = await create_user(app, "root", role="admin")
    admin = bearer(await create_token(app, admin_id))
    viewer = bearer(await create_token(app, await create_user(app, "viewer", role="viewer")))
    node = await insert_node(app, "pve-a")
    pending = await insert_deployment(app, node)
    running = await insert_deployment(app, node, status="running", phase="provision", lease_owner="w1")
    create = {"status": "succeeded", "started_at": "2026-01-01T10:00:00+00:00",
              "finished_at": "2026-01-01T10:00:02.500000+00:00", "attempts": 1}  # fmt: skip
    provision = {"status": "failed", "error": "script 10-web.sh: 1"}
    done_phases = {"create": create, "start": {"status": "succeeded"}, "provision": provision}
    failed = await insert_deployment(app, node, status="failed", phase="provision", phases=done_phases,
                                     error_code="script_failed", error_message="10-web.sh exited 1")  # fmt: skip
    succeeded = await insert_deployment(app, node, status="succeeded", phase="finalize")
    async with new_client(app) as http:

        async def post(deployment_id: str, action: str, headers: dict[str, str] = admin) -> Any:
            return await http.post(f"/api/v1/deployments/{deployment_id}/{action}", headers=headers)

        assert (await post(pending, "cancel", viewer)).status_code == 403
        cancelled = await post(pending, "cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancel_requested"] is True
        assert cancelled.json()["finished_at"] is not None
        events = await _events(app, pending)
        assert [(e.type, e.status) for e in events] == [("result", "cancelled")]  # streams end
        assert (await post(pending, "cancel")).json()["error"] == "conflict"

        again = await post(pending, "retry")
        assert again.status_code == 200 and again.json()["status"] == "pending"
        assert again.json()["cancel_requested"] is False and again.json()["finished_at"] is None
        assert (await post(pending, "retry")).status_code == 409  # pending: nothing to retry

        soft = await post(running, "cancel")
        assert soft.status_code == 200 and soft.json()["status"] == "running" and soft.json()["cancel_requested"]
        assert (await post(running, "retry")).status_code == 409

        retried = (await post(failed, "retry")).json()
        assert retried["status"] == "pending" and retried["error_code"] is None and retried["error_message"] is None
        phases = {p["name"]: p for p in retried["phases"]}
        assert phases["create"]["status"] == "succeeded" and phases["create"]["duration_s"] == 2.5
        assert phases["start"]["status"] == "succeeded" and phases["provision"]["error"] == "script 10-web.sh: 1"
        assert phases["finalize"]["status"] == "pending"

        for action in ("cancel", "retry"):
            assert (await post(succeeded, action)).status_code == 409
        assert (await post("no-such-deployment", "cancel")).status_code == 404
        await app.state.lxcm.jobs.drain()
    retry_jobs = {job_id.rsplit(":retry:", 1)[0]: args for job_id, args in recorded_jobs}
    assert retry_jobs == {f"deployment:{pending}": (pending,), f"deployment:{failed}": (failed,)}
    assert len(recorded_jobs) == 2


async def test_list_and_get_show_only_visible_deployments(app: FastAPI) -> None:
    admin = bearer(await create_token(app, await create_user(app, "root", role="admin")))
    alice_id = await create_user(app, "alice", role="operator")
    alice = bearer(await create_token(app, alice_id))
    mine = await insert_node(app, "pve-a", granted_to=(alice_id,))
    other = await insert_node(app, "pve-b")
    visible = [await insert_deployment(app, mine, status=status) for status in ("pending", "failed", "failed")]
    hidden = await insert_deployment(app, other, status="failed")
    async with new_client(app) as http:
        page = (await http.get("/api/v1/deployments", headers=alice)).json()
        assert page["total"] == 3 and {d["id"] for d in page["items"]} == set(visible)
        assert (await http.get("/api/v1/deployments", headers=admin)).json()["total"] == 4
        failed = (await http.get("/api/v1/deployments", params={"status": "failed"}, headers=alice)).json()
        assert failed["total"] == 2 and all(d["status"] == "failed" for d in failed["items"])
        by_node = await http.get("/api/v1/deployments", params={"node_id": other}, headers=admin)
        assert [d["id"] for d in by_node.json()["items"]] == [hidden]
        assert (await http.get("/api/v1/deployments", params={"template": "minimal"}, headers=alice)).json()[
            "total"
        ] == 3
        assert (await http.get("/api/v1/deployments", params={"template": "other"}, headers=alice)).json()["total"] == 0
        first = (await http.get("/api/v1/deployments", params={"limit": 2}, headers=alice)).json()
        second = (await http.get("/api/v1/deployments", params={"limit": 2, "offset": 2}, headers=alice)).json()
        assert len(first["items"]) == 2 and len(second["items"]) == 1 and first["total"] == 3
        assert {d["id"] for d in first["items"] + second["items"]} == set(visible)
        for bad in ({"status": "exploded"}, {"limit": 0}, {"limit": 500}, {"offset": -1}):
            assert (await http.get("/api/v1/deployments", params=bad, headers=alice)).status_code == 422

        detail = await http.get(f"/api/v1/deployments/{visible[0]}", headers=alice)
        assert detail.status_code == 200 and detail.json()["links"] == []
        assert (await http.get(f"/api/v1/deployments/{hidden}", headers=alice)).status_code == 404
        assert (await http.post(f"/api/v1/deployments/{hidden}/cancel", headers=alice)).status_code == 404
        assert (await http.get("/api/v1/deployments/bad%00id", headers=alice)).status_code == 422
