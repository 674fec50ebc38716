"""The reconciler re-enqueues a deployment a dead worker left behind (expired lease, stale heartbeat) under a fresh
job id, leaves live ones alone, and the re-run finishes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipekit import Sim

from lxc_manager.core.jobs import InProcessJobQueue
from lxc_manager.deployments.pipeline.reconciler import reconcile
from lxc_manager.deployments.tasks import run_deployment  # noqa: F401 - registers the job


async def test_reconcile_resumes_only_stale_deployments(sim: Sim) -> None:
    past = datetime.now(UTC) - timedelta(minutes=5)
    stale = await sim.create_deployment()
    await sim.update(stale, status="running", lease_owner="dead-worker:1", lease_expires_at=past, heartbeat_at=past,
                     lease_version=3)  # fmt: skip
    alive = await sim.create_deployment()
    await sim.update(alive, status="running", lease_owner="live-worker:2", heartbeat_at=datetime.now(UTC),
                     lease_expires_at=datetime.now(UTC) + timedelta(minutes=5))  # fmt: skip
    done = await sim.create_deployment()
    await sim.update(done, status="failed", heartbeat_at=past)

    queue = InProcessJobQueue(ctx=sim.ctx())
    try:
        assert await reconcile(sim.sessionmaker, queue, options=sim.ctx()["pipeline_options"]) == 1
        assert set(queue._tasks) == {f"deployment:{stale}:recover3"}
        await queue.drain()
    finally:
        await queue.close()
    assert (await sim.deployment(stale)).status == "succeeded"
    assert (await sim.deployment(alive)).status == "running"  # another worker holds it: untouched
    assert (await sim.deployment(done)).status == "failed"
    assert len(await sim.guests()) == 1
