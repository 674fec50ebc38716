"""Cancel, the lease (two runners on one deployment), and 20 concurrent deployments on one node."""

from __future__ import annotations

import asyncio

from pipekit import Sim, eventually

from lxc_manager.deployments.pipeline.runner import execute
from lxc_manager.deployments.tasks import run_deployment
from processes import sleeping, unique_seconds


async def test_cancel_during_provisioning(sim: Sim) -> None:
    # The script sleeps silently: the cancel has to stop it in the CT, not only stop waiting for it (the node's
    # sshd ignores signal requests for root, so the tether around each command ends it when the channel closes).
    pause = unique_seconds()
    deployment_id = await sim.create_deployment(inputs={"pause": pause})
    run = asyncio.create_task(run_deployment(sim.ctx(), deployment_id))

    async def pausing() -> bool:
        return any(e.message.startswith("pausing") for e in await sim.events(deployment_id))

    await eventually(pausing, timeout=60)
    await sim.update(deployment_id, cancel_requested=True)  # what D2's cancel endpoint does
    assert await asyncio.wait_for(run, 60) == "cancelled"

    async def script_stopped() -> bool:
        return sleeping(pause) == 0

    await eventually(script_stopped, timeout=30)
    deployment = await sim.deployment(deployment_id)
    assert deployment.status == "cancelled" and deployment.phases["provision"]["status"] == "cancelled"
    assert "verify" not in deployment.phases
    events = await sim.events(deployment_id)
    assert events[-1].type == "result" and events[-1].status == "cancelled"
    assert list(await sim.guests()) == [deployment.vmid]  # on_failure keep: left for debugging
    assert await sim.containers() == []


async def test_cancel_at_a_phase_boundary_records_the_finished_phase_and_begins_no_other(sim: Sim) -> None:
    """The boundary is one transaction: the phase that ended is recorded, the flag read, the next not begun."""
    await sim.fault(kind="latency", endpoint="GET /nodes/{node}/tasks/{upid}/status", seconds=1.5)
    deployment_id = await sim.create_deployment()
    run = asyncio.create_task(run_deployment(sim.ctx(), deployment_id))

    async def claimed() -> bool:  # recorded before the create task is awaited (polls slowed by the fault)
        return (await sim.deployment(deployment_id)).vmid is not None

    await eventually(claimed, timeout=60, interval=0.02)
    await sim.update(deployment_id, cancel_requested=True)  # no command runs: only the boundary can see it
    assert await asyncio.wait_for(run, 60) == "cancelled"
    deployment = await sim.deployment(deployment_id)
    assert deployment.phases["create"]["status"] == "succeeded" and "start" not in deployment.phases
    assert deployment.status == "cancelled" and deployment.phase == "create"
    events = [(e.type, e.phase, e.status) for e in await sim.events(deployment_id)]
    assert events[-2:] == [("phase", "create", "succeeded"), ("result", "create", "cancelled")]
    assert any(e.message == f"claimed VMID {deployment.vmid}" for e in await sim.events(deployment_id))


async def test_cancel_before_start_creates_nothing(sim: Sim) -> None:
    deployment_id = await sim.create_deployment(on_failure="destroy")
    await sim.update(deployment_id, cancel_requested=True)
    assert await run_deployment(sim.ctx(), deployment_id) == "cancelled"
    assert (await sim.deployment(deployment_id)).status == "cancelled"
    assert await sim.guests() == {}


async def test_two_runners_on_one_deployment_only_one_runs(sim: Sim) -> None:
    deployment_id = await sim.create_deployment(inputs={"pause": 1})
    options = sim.ctx()["pipeline_options"]
    first, second = await asyncio.gather(
        execute(sim.sessionmaker, sim.settings, deployment_id, options=options, owner="worker-a"),
        execute(sim.sessionmaker, sim.settings, deployment_id, options=options, owner="worker-b"),
    )
    assert sorted([first.status, second.status]) == ["busy", "succeeded"]
    events = await sim.events(deployment_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert sum(1 for e in events if e.type == "phase" and e.phase == "create" and e.status == "running") == 1
    assert len(await sim.guests()) == 1 and len(await sim.containers()) == 1


async def test_twenty_concurrent_deployments_get_distinct_vmids(sim: Sim) -> None:
    ids = [await sim.create_deployment() for _ in range(20)]
    outcomes = await asyncio.gather(*(run_deployment(sim.ctx(max_tries=5), i) for i in ids))
    deployments = [await sim.deployment(i) for i in ids]
    failures = {d.id: (d.error_code, d.error_message) for d in deployments if d.status != "succeeded"}
    assert outcomes == ["succeeded"] * 20, failures
    vmids = [d.vmid for d in deployments]
    assert len(set(vmids)) == 20 and None not in vmids
    guests = await sim.guests()
    assert sorted(guests) == sorted(v for v in vmids if v is not None)  # exactly one CT each, no orphan
    for deployment in deployments:
        assert deployment.id in guests[deployment.vmid]["config"]["description"]  # type: ignore[index]
    containers = await sim.containers()
    assert sorted(c.vmid for c in containers) == sorted(guests)
    # Runs in one process claim VMIDs on a node in turn: nobody lost a race for nextid's answer.
    lost = [e.message for i in ids for e in await sim.events(i) if "was taken meanwhile" in e.message]
    assert lost == []


async def test_a_heartbeat_after_the_final_commit_leaves_the_outcome_alone(sim: Sim) -> None:
    """The last step releases the lease; a heartbeat that finds it released must not report the run as lost."""
    ids = [await sim.create_deployment() for _ in range(12)]
    ctx = sim.ctx(heartbeat_interval_s=0.001)  # a beat at nearly every await, the final commit included
    outcomes = await asyncio.gather(*(run_deployment(ctx, i) for i in ids))
    assert outcomes == ["succeeded"] * 12
    assert [(await sim.deployment(i)).status for i in ids] == ["succeeded"] * 12


async def test_a_cancel_seen_on_resume_ends_the_interrupted_phase_cancelled(sim: Sim) -> None:
    """A transient error (or a dead worker) left the phase ``retrying`` (``running``); the cancel came meanwhile."""
    for interrupted in ("retrying", "running"):
        deployment_id = await sim.create_deployment()
        phases = {"create": {"status": interrupted, "attempts": 1, "started_at": "2026-11-27T10:00:00+00:00"}}
        await sim.update(deployment_id, phases=phases, phase="create", cancel_requested=True)
        assert await run_deployment(sim.ctx(), deployment_id) == "cancelled"
        deployment = await sim.deployment(deployment_id)
        assert deployment.status == "cancelled" and deployment.phases["create"]["status"] == "cancelled"
        events = [(e.type, e.phase, e.status) for e in await sim.events(deployment_id)]
        assert events[-2:] == [("phase", "create", "cancelled"), ("result", "create", "cancelled")]
    assert await sim.guests() == {}
