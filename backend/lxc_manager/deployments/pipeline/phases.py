"""The *create* and *start* phases: check → act → record, safe to run again after any interruption."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

from lxc_manager.core.aio import PerLoop
from lxc_manager.deployments.pipeline.context import (
    STAMP_TAG,
    Run,
    deployment_tag,
    is_stamped,
    set_phase_data,
    stamp_description,
)
from lxc_manager.deployments.pipeline.errors import PipelineError
from lxc_manager.deployments.secrets import ROOT_PASSWORD
from lxc_manager.integrations.proxmox import (
    ProxmoxAlreadyExists,
    ProxmoxLocked,
    ProxmoxNotFound,
    TaskResult,
    parse_property_string,
)
from lxc_manager.models import Deployment
from lxc_manager.templates.resolve import pve_create_params

DEFAULT_STORAGE = "local-lvm"


def create_params(deployment: Deployment, run: Run) -> dict[str, Any]:
    """The PVE create parameters: the stored plan's when it has them, else derived from the template revision.

    No vmid (claimed per attempt); the stamp (tags + description) and secrets (root password) are added here,
    never stored in the plan.
    """
    planned = deployment.plan.get("pve_params") if isinstance(deployment.plan, dict) else None
    request = deployment.request or {}
    manifest = run.template.manifest
    if isinstance(planned, dict) and planned:
        params: dict[str, Any] = {k: v for k, v in planned.items() if k != "password"}
    else:
        params = dict(
            pve_create_params(
                manifest,
                hostname=deployment.hostname or request.get("hostname") or run.template.name,
                storage=request.get("storage") or DEFAULT_STORAGE,
                bridge=request.get("bridge"),
            )
        )
        ostemplate = request.get("ostemplate") or manifest.os.volid
        if not ostemplate:
            raise PipelineError("no_os_template", "the deployment names no OS template volume (ostemplate)")
        params["ostemplate"] = ostemplate
        if request.get("ssh_public_keys"):
            params["ssh-public-keys"] = request["ssh_public_keys"]
    tags = [t for t in str(params.get("tags") or "").replace(",", ";").split(";") if t]
    params["tags"] = ";".join(dict.fromkeys([*tags, STAMP_TAG, deployment_tag(deployment.id)]))
    params["description"] = stamp_description(deployment.id)
    root_password = run.secrets.get(ROOT_PASSWORD)
    if root_password:
        params["password"] = root_password
    return params


async def _wait(run: Run, upid: str) -> TaskResult:
    result = await run.pve.wait_task(upid, timeout=run.options.task_timeout_s, poll_interval=run.options.task_poll_s)
    if result.warnings:
        async with run.step() as (_, deployment):
            tail = [f"{run.phase}: {line}" for line in result.log_tail[-5:] if line.strip()]
            deployment.warnings = [*deployment.warnings, f"{run.phase}: task {result.exitstatus}", *tail]
        await run.info(f"task finished with {result.warnings} warning(s)", exitstatus=result.exitstatus)
    return result


async def wait_unlocked(run: Run, node: str, vmid: int) -> None:
    """Poll the CT's lock (backup, snapshot, create …) until it is gone; ProxmoxLocked after ``lock_wait_s``.

    The status carries the lock (also one held by a running backup); starting a locked CT would only fail.
    """
    deadline = time.monotonic() + run.options.lock_wait_s
    while True:
        lock = (await run.pve.lxc_status(node, vmid)).lock
        if not lock:
            return
        if time.monotonic() >= deadline:
            raise ProxmoxLocked(500, f"CT is locked ({lock})", method="GET", path=f"lxc/{vmid}/status/current")
        await asyncio.sleep(min(run.options.task_poll_s * 5, max(0.0, deadline - time.monotonic())))


async def _find_stamped(run: Run, deployment_id: str) -> tuple[str, int] | None:
    """A CT carrying this deployment's tag anywhere in the cluster, confirmed by its config description."""
    tag = deployment_tag(deployment_id)
    for resource in await run.pve.cluster_resources("vm"):
        tags = set((resource.tags or "").replace(",", ";").split(";"))
        if resource.vmid is None or resource.node is None or tag not in tags:
            continue
        config = await run.pve.lxc_config(resource.node, resource.vmid)
        if is_stamped(config.description, deployment_id):
            return resource.node, resource.vmid
    return None


async def phase_create(run: Run) -> None:
    async with run.step() as (_, deployment):
        params = create_params(deployment, run)
        known_vmid, known_upid = deployment.vmid, (deployment.phases.get("create") or {}).get("data", {}).get("upid")
    if known_vmid is not None:
        try:
            config = await run.pve.lxc_config(run.pve_node, known_vmid)
        except ProxmoxNotFound:
            config = None
        if config is not None and is_stamped(config.description, run.deployment_id):
            run.vmid = known_vmid
            await run.info(f"container {known_vmid} already exists (ours): adopting it", vmid=known_vmid)
            if known_upid:
                await _wait(run, known_upid)
            await wait_unlocked(run, run.pve_node, known_vmid)
            return
        # The recorded create failed and PVE removed the CT (or someone else owns that id now): claim a new one.
        await run.info(f"recorded container {known_vmid} is gone or not ours: creating a new one")
        async with run.step() as (_, deployment):
            deployment.vmid = None
    found = await _find_stamped(run, run.deployment_id)
    if found is not None:
        node, vmid = found
        run.vmid = vmid
        async with run.step() as (_, deployment):
            deployment.vmid, deployment.pve_node = vmid, node
        await run.info(f"found container {vmid} stamped with this deployment: adopting it", vmid=vmid)
        await wait_unlocked(run, node, vmid)
        return
    upid = await _claim_vmid(run, params)
    await _wait(run, upid)
    await run.info(f"container {run.vmid} created", vmid=run.vmid)


# Per event loop, per (API, node): the runs of one worker process claim VMIDs on a node one at a time.
_CLAIM_LOCKS: PerLoop[tuple[str, str], asyncio.Lock] = PerLoop()


def _claim_lock(run: Run) -> asyncio.Lock:
    return _CLAIM_LOCKS.get((run.node.api_url, run.pve_node), asyncio.Lock)


async def _claim_vmid(run: Run, params: dict[str, Any]) -> str:
    """POST create with an explicit id; PVE claims it atomically, so "already exists" means: try a fresh id.

    nextid answers every client the lowest free id, so concurrent claims collide: within this process they take
    turns (the lock spans nextid and the POST, which returns once PVE has reserved the id, before the task runs);
    against other processes, a loser tries a random id among the next few (a window doubling per loss)."""
    requested = params.pop("vmid", None)
    for attempt in range(run.options.create_attempts):
        try:
            async with _claim_lock(run):
                vmid = int(requested) if requested is not None else await run.pve.nextid()
                if attempt and requested is None:
                    vmid += secrets.randbelow(2 ** min(attempt + 1, 6))
                upid = await run.pve.lxc_create(run.pve_node, {**params, "vmid": vmid})
        except ProxmoxAlreadyExists:
            if requested is not None:
                raise PipelineError("vmid_taken", f"the requested VMID {vmid} is already in use") from None
            await run.info(f"VMID {vmid} was taken meanwhile; asking for another")
            continue
        run.vmid = vmid
        # Recorded before waiting: a worker dying now leaves a CT the next run finds instead of duplicating.
        async with run.step() as (_, deployment):
            deployment.vmid, deployment.pve_node = vmid, run.pve_node
            set_phase_data(deployment, "create", {"upid": upid, "vmid": vmid})
        await run.info(f"claimed VMID {vmid}", vmid=vmid, upid=upid)
        return upid
    raise PipelineError(
        "vmid_exhausted",
        f"no free VMID after {run.options.create_attempts} attempts (parallel creates?)",
        transient=True,
    )


# ---- start ---------------------------------------------------------------------------------------------------


def _static_ip(net0: str | None) -> str | None:
    if not net0:
        return None
    ip = parse_property_string(net0).get("ip")
    if ip and ip not in {"dhcp", "manual"}:
        return str(ip).split("/", 1)[0]
    return None


async def phase_start(run: Run) -> None:
    assert run.vmid is not None
    status = await run.pve.lxc_status(run.pve_node, run.vmid)
    if status.status != "running":
        await wait_unlocked(run, run.pve_node, run.vmid)
        upid = await run.pve.lxc_start(run.pve_node, run.vmid)
        await run.record(upid=upid)
        await _wait(run, upid)
        await run.info(f"container {run.vmid} started")
    else:
        await run.info(f"container {run.vmid} is already running")
    ip = await _wait_for_ip(run)
    run.ip_address = ip
    async with run.step() as (_, deployment):
        deployment.ip_address = ip
    await run.info(f"container address {ip}", ip=ip)


async def _wait_for_ip(run: Run) -> str:
    assert run.vmid is not None
    config = await run.pve.lxc_config(run.pve_node, run.vmid)
    extra = config.model_extra or {}
    static = _static_ip(extra.get("net0"))
    deadline = time.monotonic() + run.options.ip_timeout_s
    while True:
        for interface in await run.pve.lxc_interfaces(run.pve_node, run.vmid):
            if interface.name == "lo":
                continue
            if interface.inet:
                return interface.inet.split("/", 1)[0]
        if static:
            return static
        if time.monotonic() >= deadline:
            raise PipelineError(
                "no_ip_address", f"container {run.vmid} got no IP address in {run.options.ip_timeout_s:.0f} s"
            )
        await asyncio.sleep(run.options.ip_poll_s)
