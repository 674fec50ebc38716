"""Each injected fault class against the simulator: transient 5xx, lock held, task failure (then retry from the
failed phase), node offline, token revoked, "already exists" (a fresh VMID), and the on_failure policy."""

from __future__ import annotations

import asyncio

from pipekit import Sim, eventually
from sqlalchemy import select

from lxc_manager.core.db import unit_of_work
from lxc_manager.deployments.tasks import run_deployment
from lxc_manager.models import AuditEvent

START = "POST /nodes/{node}/lxc/{vmid}/status/start"


async def test_transient_5xx_is_retried_with_backoff(sim: Sim) -> None:
    await sim.fault(kind="error", endpoint=START, status=503, message="Service Unavailable", count=1)
    deployment_id = await sim.create_deployment()
    outcome = await run_deployment(sim.ctx(), deployment_id)
    deployment = await sim.deployment(deployment_id)
    assert outcome == "succeeded"
    assert deployment.phases["start"]["attempts"] == 2
    assert deployment.phases["create"]["attempts"] == 1  # completed phases are not re-run
    retrying = [e for e in await sim.events(deployment_id) if e.status == "retrying"]
    assert len(retrying) == 1 and retrying[0].phase == "start" and retrying[0].data["retry_in_s"] > 0
    assert len(await sim.guests()) == 1


async def test_lock_held_fails_after_bounded_retries(sim: Sim) -> None:
    await sim.fault(kind="lock", vmid=100, lock="backup")
    deployment_id = await sim.create_deployment()
    assert await run_deployment(sim.ctx(max_tries=2), deployment_id) == "failed"
    deployment = await sim.deployment(deployment_id)
    assert deployment.status == "failed" and deployment.error_code == "ct_locked"
    assert "locked (backup)" in (deployment.error_message or "")
    assert deployment.phases["start"]["attempts"] == 2
    assert (await sim.guests())[100]["status"] == "stopped"  # nothing was done to the locked CT


async def test_lock_released_meanwhile_succeeds(sim: Sim) -> None:
    fault = await sim.fault(kind="lock", vmid=100, lock="backup")
    deployment_id = await sim.create_deployment()
    run = asyncio.create_task(run_deployment(sim.ctx(max_tries=5, retry_backoff_s=0.3), deployment_id))

    async def retried() -> bool:
        return any(e.status == "retrying" for e in await sim.events(deployment_id))

    await eventually(retried, timeout=30)
    await sim.http.delete(f"{sim.connection['control_url']}/faults/{fault}", headers=sim._control())
    assert await asyncio.wait_for(run, 60) == "succeeded"


async def test_task_failure_then_retry_from_the_failed_phase(sim: Sim) -> None:
    await sim.fault(kind="task_failure", task_type="vzstart", message="startup for container '100' failed", count=1)
    deployment_id = await sim.create_deployment()
    assert await run_deployment(sim.ctx(), deployment_id) == "failed"
    deployment = await sim.deployment(deployment_id)
    assert deployment.error_code == "start_task_failed" and "startup for container" in (deployment.error_message or "")
    assert deployment.phases["create"]["status"] == "succeeded" and deployment.phases["start"]["status"] == "failed"
    events = await sim.events(deployment_id)
    assert events[-1].type == "result" and events[-1].status == "failed"
    assert deployment.vmid is not None and list(await sim.guests()) == [deployment.vmid]  # on_failure: keep

    # What D2's retry endpoint does: back to pending, completed phases kept.
    await sim.update(deployment_id, status="pending", error_code=None, error_message=None, finished_at=None)
    assert await run_deployment(sim.ctx(), deployment_id) == "succeeded"
    again = await sim.deployment(deployment_id)
    assert again.phases["create"]["attempts"] == 1 and again.phases["start"]["attempts"] == 2
    assert again.vmid == deployment.vmid and list(await sim.guests()) == [deployment.vmid]  # no second CT
    assert len(await sim.containers()) == 1


async def test_node_offline_fails_fast(sim: Sim) -> None:
    await sim.fault(kind="node_offline", node=sim.pve_node, status=595)
    deployment_id = await sim.create_deployment()
    assert await run_deployment(sim.ctx(), deployment_id) == "failed"
    deployment = await sim.deployment(deployment_id)
    assert deployment.error_code == "node_offline" and "offline" in (deployment.error_message or "")
    assert deployment.phases["create"]["attempts"] == 1  # no retry storm
    await sim.clear_faults()
    assert await sim.guests() == {}


async def test_revoked_token_fails_fast(sim: Sim) -> None:
    await sim.fault(kind="token_revoked", token=sim.connection["token_id"])
    deployment_id = await sim.create_deployment()
    assert await run_deployment(sim.ctx(), deployment_id) == "failed"
    deployment = await sim.deployment(deployment_id)
    assert deployment.error_code == "credentials_invalid" and "refused" in (deployment.error_message or "")
    assert deployment.phases["create"]["attempts"] == 1


async def test_already_exists_claims_a_fresh_vmid(sim: Sim) -> None:
    # Another client won VMID 100 between our nextid and our POST: PVE answers "already exists".
    await sim.fault(kind="error", endpoint="POST /nodes/{node}/lxc", status=500,
                    message="CT 100 already exists on node 'pve1'", count=1)  # fmt: skip
    deployment_id = await sim.create_deployment()
    assert await run_deployment(sim.ctx(), deployment_id) == "succeeded"
    messages = [e.message for e in await sim.events(deployment_id)]
    assert any("was taken meanwhile" in m for m in messages)
    assert len(await sim.guests()) == 1


async def test_on_failure_destroy_removes_our_container(sim: Sim) -> None:
    deployment_id = await sim.create_deployment(inputs={"fail": True}, on_failure="destroy")
    assert await run_deployment(sim.ctx(), deployment_id) == "failed"
    deployment = await sim.deployment(deployment_id)
    assert deployment.error_code == "script_failed" and deployment.phases["provision"]["status"] == "failed"
    assert await sim.guests() == {}
    result = (await sim.events(deployment_id))[-1]
    assert result.type == "result" and "destroyed" in result.data["cleanup"]
    assert any(e.message == "failing on purpose" and e.status == "stderr" for e in await sim.events(deployment_id))


async def test_on_failure_destroy_refuses_a_container_that_is_not_ours(sim: Sim) -> None:
    # Someone else's CT sits at the vmid the deployment recorded (ours vanished and the id was reused).
    form = {"vmid": "150", "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
            "hostname": "foreign", "rootfs": "local-lvm:4", "net0": "name=eth0,bridge=vmbr0,ip=dhcp"}  # fmt: skip
    await sim.wait_task(await sim.pve("POST", f"/nodes/{sim.pve_node}/lxc", data=form))
    await sim.wait_task(await sim.pve("POST", f"/nodes/{sim.pve_node}/lxc/150/status/start"))
    deployment_id = await sim.create_deployment(inputs={"fail": True}, on_failure="destroy")
    done = {"status": "succeeded", "attempts": 1}
    await sim.update(deployment_id, vmid=150, pve_node=sim.pve_node, ip_address="10.10.0.99",
                     phases={"create": done, "start": done})  # fmt: skip
    assert await run_deployment(sim.ctx(), deployment_id) == "failed"
    assert 150 in await sim.guests()
    async with unit_of_work(sim.sessionmaker) as db:
        audit = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "deployment.destroy_refused"))).all()
    assert len(audit) == 1 and audit[0].target_id == deployment_id and audit[0].details["vmid"] == 150
    assert "not stamped" in (await sim.events(deployment_id))[-1].data["cleanup"]


async def test_verify_failure_names_the_service(sim: Sim) -> None:
    deployment_id = await sim.create_deployment(inputs={"stop_web": True})
    assert await run_deployment(sim.ctx(), deployment_id) == "failed"
    deployment = await sim.deployment(deployment_id)
    assert deployment.error_code == "verify_failed" and deployment.phases["verify"]["status"] == "failed"
    assert "unit nginx.service is active" in (deployment.error_message or "")
    assert await sim.containers() == []  # nothing recorded for a container that does not work
