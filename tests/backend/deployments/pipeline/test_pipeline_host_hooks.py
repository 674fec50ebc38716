"""Host hooks run on the node around the create (``pre-create`` first in the create phase, ``post-create`` first in
the start phase), with the inputs (a secret as a 0600 file) and ``LXCM_VMID`` once there is one; each runs once per
deployment, even across a retry of its phase."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pipekit import HOST_HOOK_FAIL_FLAG, HOST_HOOK_LOG, HOST_HOOK_PAUSE_FILE, Sim, eventually

from lxc_manager.core.db import unit_of_work
from lxc_manager.deployments.planning import execution_steps
from lxc_manager.deployments.tasks import run_deployment
from lxc_manager.models import Deployment, Template, TemplateRevision
from lxc_manager.templates.catalogue import resolve_revision
from processes import sleeping, unique_seconds


def node_scratch(sim: Sim) -> Path:
    return Path(sim.connection["ssh"]["nodes"][sim.pve_node]["scratch"])


def hook_lines(sim: Sim, deployment_id: str) -> list[str]:
    path = node_scratch(sim) / HOST_HOOK_LOG
    lines = path.read_text().splitlines() if path.exists() else []
    return [line for line in lines if f"deployment={deployment_id} " in line]


def leftovers(sim: Sim) -> list[str]:
    """Files the hooks' runs left in the SSH client's private folders on the node (env, script, secrets)."""
    return sorted(p.name for p in (node_scratch(sim) / "tmp").glob("lxcm-*/*"))


async def test_host_hooks_run_around_the_create_with_the_inputs(sim: Sim) -> None:
    deployment_id = await sim.create_deployment()
    assert await run_deployment(sim.ctx(), deployment_id) == "succeeded"
    vmid = (await sim.deployment(deployment_id)).vmid
    greeting = "greeting=hello pipeline secret=0600"
    assert hook_lines(sim, deployment_id) == [
        f"pre-create deployment={deployment_id} vmid=none {greeting}",
        f"post-create deployment={deployment_id} vmid={vmid} {greeting}",
    ]
    messages = [e.message for e in await sim.events(deployment_id)]
    order = [
        messages.index("hook pre-create (host): host-pre.sh"),
        messages.index("pre-create host hook ran"),
        next(i for i, m in enumerate(messages) if m.startswith("claimed VMID")),
        messages.index("hook post-create (host): host-post.sh"),
        messages.index("post-create host hook ran"),
    ]
    assert order == sorted(order)
    assert leftovers(sim) == []  # the env file, the script and the secret file are removed after each hook


async def test_a_failed_post_create_hook_runs_again_on_retry_and_the_create_does_not(sim: Sim) -> None:
    flag = node_scratch(sim) / HOST_HOOK_FAIL_FLAG
    flag.parent.mkdir(parents=True, exist_ok=True)
    flag.touch()
    deployment_id = await sim.create_deployment()
    assert await run_deployment(sim.ctx(), deployment_id) == "failed"
    failed = await sim.deployment(deployment_id)
    assert failed.phase == "start" and failed.phases["start"]["status"] == "failed"  # first in start: CT stopped
    assert "post-create failing on purpose" in (failed.error_message or "")
    assert [line.split()[0] for line in hook_lines(sim, deployment_id)] == ["pre-create", "post-create"]
    assert failed.vmid is not None and list(await sim.guests()) == [failed.vmid]  # on_failure: keep

    flag.unlink()
    # What the retry endpoint does: back to pending, the phase records kept.
    await sim.update(deployment_id, status="pending", error_code=None, error_message=None, finished_at=None)
    assert await run_deployment(sim.ctx(), deployment_id) == "succeeded"
    again = await sim.deployment(deployment_id)
    assert again.vmid == failed.vmid and list(await sim.guests()) == [failed.vmid]  # the CT adopted, not re-created
    assert [line.split()[0] for line in hook_lines(sim, deployment_id)] == ["pre-create", "post-create",
                                                                             "post-create"]  # fmt: skip
    assert again.phases["create"]["attempts"] == 1 and again.phases["start"]["attempts"] == 2
    assert again.phases["create"]["data"]["host_hooks_done"] == ["pre-create/host-pre.sh"]
    assert again.phases["start"]["data"]["host_hooks_done"] == ["post-create/host-post.sh"]
    assert leftovers(sim) == []


async def test_a_hook_that_ran_is_skipped_when_its_phase_is_retried(sim: Sim) -> None:
    await sim.fault(kind="task_failure", task_type="vzstart", message="startup for container failed", count=1)
    deployment_id = await sim.create_deployment()
    assert await run_deployment(sim.ctx(), deployment_id) == "failed"  # after post-create ran: the start task
    assert (await sim.deployment(deployment_id)).error_code == "start_task_failed"
    await sim.update(deployment_id, status="pending", error_code=None, error_message=None, finished_at=None)
    assert await run_deployment(sim.ctx(), deployment_id) == "succeeded"
    assert [line.split()[0] for line in hook_lines(sim, deployment_id)] == ["pre-create", "post-create"]
    messages = [e.message for e in await sim.events(deployment_id)]
    assert messages.count("hook post-create/host-post.sh (host) already ran: skipped") == 1


async def test_cancel_during_a_silent_host_hook_stops_it_on_the_node(sim: Sim) -> None:
    seconds = unique_seconds()
    pause = node_scratch(sim) / HOST_HOOK_PAUSE_FILE.format(event="pre-create")
    pause.parent.mkdir(parents=True, exist_ok=True)
    pause.write_text(str(seconds))
    deployment_id = await sim.create_deployment()
    run = asyncio.create_task(run_deployment(sim.ctx(), deployment_id))

    async def pausing() -> bool:
        return sleeping(seconds) == 1

    await eventually(pausing, timeout=60, interval=0.02)
    await sim.update(deployment_id, cancel_requested=True)
    assert await asyncio.wait_for(run, 60) == "cancelled"

    async def stopped() -> bool:
        return sleeping(seconds) == 0

    await eventually(stopped, timeout=30)
    deployment = await sim.deployment(deployment_id)
    assert deployment.phases["create"]["status"] == "cancelled" and deployment.vmid is None
    assert await sim.guests() == {}  # cancelled before the claim: nothing was created
    assert leftovers(sim) == []


async def test_the_plan_puts_each_host_hook_in_the_phase_it_runs_in(sim: Sim) -> None:
    deployment_id = await sim.create_deployment()
    assert await run_deployment(sim.ctx(), deployment_id) == "succeeded"
    async with unit_of_work(sim.sessionmaker) as db:
        deployment = await db.get(Deployment, deployment_id)
        assert deployment is not None
        template = await db.get(Template, deployment.template_id)
        revision = await db.get(TemplateRevision, deployment.template_revision_id)
        assert template is not None and revision is not None
        steps = execution_steps(await resolve_revision(db, template, revision))
    planned = {s.name: s.phase for s in steps if s.kind == "hook" and s.target == "host"}
    ran = {e.message.removeprefix("hook ").replace(" (host): ", "/"): e.phase for e in await sim.events(deployment_id)
           if e.message.startswith("hook ") and "(host): " in e.message}  # fmt: skip
    assert planned == ran == {"pre-create/host-pre.sh": "create", "post-create/host-post.sh": "start"}
    names = [s.name for s in steps]
    assert names.index("pre-create/host-pre.sh") < names.index("create container")
    assert names.index("create container") < names.index("post-create/host-post.sh")
    assert names.index("post-create/host-post.sh") < names.index("start and wait for the network")
