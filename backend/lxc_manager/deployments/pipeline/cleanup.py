"""``on_failure: destroy`` — only ever a container whose live config carries this deployment's stamp.

A CT at the recorded vmid without our stamp (someone else's, re-created after ours vanished) is refused and the
refusal is audited as ``deployment.destroy_refused``: the FOSSBilling incident (cleanup deleting an unrelated
guest) is exactly what the stamp check prevents.
"""

from __future__ import annotations

from lxc_manager.audit import service as audit
from lxc_manager.deployments.pipeline.context import Run, is_stamped
from lxc_manager.deployments.pipeline.phases import wait_unlocked
from lxc_manager.integrations.proxmox import ProxmoxError, ProxmoxNotFound


async def destroy_if_ours(run: Run) -> str:
    """Destroy the deployment's CT when it is provably ours; returns what happened (for the result event)."""
    vmid = run.vmid
    if vmid is None:
        return "nothing to destroy (no container was created)"
    try:
        config = await run.pve.lxc_config(run.pve_node, vmid)
    except ProxmoxNotFound:
        return f"container {vmid} no longer exists"
    if not is_stamped(config.description, run.deployment_id):
        async with run.step() as (db, deployment):
            audit.record(
                db,
                "deployment.destroy_refused",
                actor_name="pipeline",
                target_type="deployment",
                target_id=deployment.id,
                outcome="denied",
                details={"vmid": vmid, "pve_node": run.pve_node, "reason": "container does not carry our stamp"},
            )
        await run.info(f"refusing to destroy container {vmid}: it does not carry this deployment's stamp")
        return f"container {vmid} not destroyed: not stamped as ours"
    try:
        status = await run.pve.lxc_status(run.pve_node, vmid)
        if status.status == "running":
            upid = await run.pve.lxc_stop(run.pve_node, vmid)
            await run.pve.wait_task(upid, timeout=run.options.task_timeout_s, poll_interval=run.options.task_poll_s)
        await wait_unlocked(run, run.pve_node, vmid)
        upid = await run.pve.lxc_delete(run.pve_node, vmid, purge=True, destroy_unreferenced_disks=True)
        await run.pve.wait_task(upid, timeout=run.options.task_timeout_s, poll_interval=run.options.task_poll_s)
    except ProxmoxError as exc:
        await run.info(f"destroying container {vmid} failed: {exc.message[:300]}")
        return f"container {vmid} could not be destroyed: {exc.message[:200]}"
    async with run.step() as (db, deployment):
        audit.record(
            db,
            "deployment.container_destroyed",
            actor_name="pipeline",
            target_type="deployment",
            target_id=deployment.id,
            details={"vmid": vmid, "pve_node": run.pve_node},
        )
    await run.info(f"container {vmid} destroyed (on_failure: destroy)")
    return f"container {vmid} destroyed"
