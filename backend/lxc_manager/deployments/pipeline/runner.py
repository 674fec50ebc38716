"""Runs one deployment: claim the lease, resume at the first unfinished phase, record every step, finish.

At-least-once delivery (arq may run a job twice, a worker may die at any line) is handled here: the DB row is the
source of truth, each phase is check → act → record, and the lease makes a second runner back off.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lxc_manager.core.config import Settings
from lxc_manager.core.db import unit_of_work
from lxc_manager.core.logging import get_logger
from lxc_manager.core.models import utcnow
from lxc_manager.deployments.pipeline import lease
from lxc_manager.deployments.pipeline.cleanup import destroy_if_ours
from lxc_manager.deployments.pipeline.context import Run, now_iso, phase_record, set_phase_record
from lxc_manager.deployments.pipeline.errors import Cancelled, LeaseLost, PipelineError, classify
from lxc_manager.deployments.pipeline.options import PipelineOptions
from lxc_manager.deployments.pipeline.phases import phase_create, phase_start
from lxc_manager.deployments.pipeline.provision import phase_provision, prepare_workdir, run_hooks, run_host_hooks
from lxc_manager.deployments.pipeline.verify import phase_finalize, phase_verify
from lxc_manager.deployments.secrets import decrypt_deployment_secrets
from lxc_manager.events.publisher import emit, redacting
from lxc_manager.models import (
    PHASES,
    TERMINAL_STATUSES,
    Deployment,
    DeploymentStatus,
    Node,
    OnFailure,
    Phase,
    Template,
    TemplateRevision,
)
from lxc_manager.nodes.connection import node_connection
from lxc_manager.templates.catalogue import resolve_revision
from lxc_manager.templates.format import HookEvent
from lxc_manager.templates.resolve import ResolvedTemplate

log = get_logger(__name__)

WORKER_ID = f"{socket.gethostname()[:40]}:{os.getpid()}"


@dataclass(frozen=True)
class Outcome:
    """What a run ended with. ``retry_in``: a transient failure, run again after that many seconds."""

    status: str  # succeeded | failed | cancelled | busy | lease_lost | retry | skipped
    retry_in: float | None = None


def new_owner() -> str:
    return f"{WORKER_ID}:{secrets.token_hex(4)}"


def first_unfinished(deployment: Deployment) -> int:
    for index, phase in enumerate(PHASES):
        if phase_record(deployment, phase).get("status") != "succeeded":
            return index
    return len(PHASES)


def backoff(options: PipelineOptions, failures: int) -> float:
    ceiling = min(options.retry_backoff_max_s, options.retry_backoff_s * 2 ** max(0, failures - 1))
    return float(ceiling / 2 + random.uniform(0, ceiling / 2))  # noqa: S311 - jitter, not crypto


@dataclass
class _Loaded:
    node: Node
    template: ResolvedTemplate
    inputs: dict[str, object]


async def _load(db: AsyncSession, deployment: Deployment) -> _Loaded:
    node = await db.get(Node, deployment.node_id) if deployment.node_id else None
    if node is None:
        raise PipelineError("node_gone", f"node {deployment.node_name!r} is no longer registered")
    template = await db.get(Template, deployment.template_id)
    revision = await db.get(TemplateRevision, deployment.template_revision_id)
    if template is None or revision is None:
        raise PipelineError(
            "template_gone", f"template revision {deployment.template_name} r{deployment.template_revision} is gone"
        )
    resolved = await resolve_revision(db, template, revision)
    return _Loaded(node, resolved, dict(deployment.inputs or {}))


async def execute(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    deployment_id: str,
    *,
    options: PipelineOptions | None = None,
    owner: str | None = None,
) -> Outcome:
    options = options or PipelineOptions()
    owner = owner or new_owner()
    async with unit_of_work(sessionmaker) as db:
        deployment = await db.get(Deployment, deployment_id)
        if deployment is None or deployment.status in TERMINAL_STATUSES:
            return Outcome("skipped")
        if not await lease.try_acquire(db, deployment_id, owner, options.lease_ttl_s):
            log.info("deployment_busy", deployment_id=deployment_id)
            return Outcome("busy")
        deployment = await db.get(Deployment, deployment_id, populate_existing=True)
        assert deployment is not None
        if deployment.status != DeploymentStatus.running.value:
            deployment.status = DeploymentStatus.running.value
            await emit(db, deployment, "status", status="running", message="deployment running")
        deployment.started_at = deployment.started_at or utcnow()
        deployment.attempts += 1
        try:
            loaded = await _load(db, deployment)
            connection = await node_connection(db, loaded.node, settings)
            secret_values = decrypt_deployment_secrets(settings, deployment)
            failure: PipelineError | None = None
        except PipelineError as exc:
            failure = exc
        except Exception as exc:  # undecryptable secrets, broken revision: nothing to retry
            failure = PipelineError("setup_failed", f"cannot prepare the deployment: {exc}")
    if failure is not None:
        await _fail_before_start(sessionmaker, deployment_id, owner, options, failure)
        return Outcome("failed")
    run = Run(
        deployment_id=deployment_id,
        owner=owner,
        sessionmaker=sessionmaker,
        settings=settings,
        options=options,
        node=connection,
        template=loaded.template,
        secrets=secret_values,
        pve=connection.proxmox_client(),
        pve_node=deployment.pve_node or connection.pve_node,
        vmid=deployment.vmid,
        ip_address=deployment.ip_address,
    )
    start = first_unfinished(deployment)
    main = asyncio.current_task()
    lost = asyncio.Event()
    heartbeat = asyncio.create_task(_heartbeat(run, lost, main))
    try:
        with redacting(secret_values.values()):
            return await _run_phases(run, start, loaded.inputs)
    except LeaseLost:  # raised while recording a failure or cleanup: another worker owns the deployment now
        log.warning("deployment_lease_lost", deployment_id=deployment_id)
        return Outcome("lease_lost")
    except asyncio.CancelledError:
        if lost.is_set():
            log.warning("deployment_lease_lost", deployment_id=deployment_id)
            return Outcome("lease_lost")
        raise
    finally:
        heartbeat.cancel()
        await asyncio.gather(heartbeat, return_exceptions=True)
        await run.close()


async def _heartbeat(run: Run, lost: asyncio.Event, main: asyncio.Task[Any] | None) -> None:
    """Renew the lease every interval; when it is gone, stop the run (another worker owns it now)."""
    while True:
        await asyncio.sleep(run.options.heartbeat_interval_s)
        try:
            async with unit_of_work(run.sessionmaker) as db:
                held = await lease.renew(db, run.deployment_id, run.owner, run.options.lease_ttl_s)
                # Not renewed because the run itself just released it (its last step committed): the run is
                # ending on its own, and cancelling it now would report a finished run as lease_lost.
                released = not held and await lease.is_released(db, run.deployment_id)
        except Exception as exc:  # a DB hiccup: try again next beat; the TTL covers a few misses
            log.warning("lease_renew_failed", deployment_id=run.deployment_id, error=type(exc).__name__)
            continue
        if released:
            return
        if not held:
            lost.set()
            if main is not None:
                main.cancel()
            return


PhaseFunc = Callable[[Run, dict[str, object]], Awaitable[dict[str, object] | None]]


async def _create(run: Run, inputs: dict[str, object]) -> None:
    await run_host_hooks(run, HookEvent.pre_create, inputs)
    await phase_create(run)


async def _start(run: Run, inputs: dict[str, object]) -> None:
    await run_host_hooks(run, HookEvent.post_create, inputs)
    await phase_start(run)
    if any(h.event == HookEvent.post_start for h in run.template.hooks):
        await prepare_workdir(run, inputs)
        await run_hooks(run, HookEvent.post_start, inputs)


async def _provision(run: Run, inputs: dict[str, object]) -> None:
    await phase_provision(run, inputs)


async def _verify(run: Run, inputs: dict[str, object]) -> None:
    await phase_verify(run, inputs)


async def _finalize(run: Run, _: dict[str, object]) -> dict[str, object]:
    return await phase_finalize(run)


PHASE_FUNCS: dict[Phase, PhaseFunc] = {
    Phase.create: _create,
    Phase.start: _start,
    Phase.provision: _provision,
    Phase.verify: _verify,
    Phase.finalize: _finalize,
}


Ended = tuple[Phase, float]  # a phase that succeeded, with its duration, not yet recorded


async def _advance(run: Run, ended: Ended | None, phase: Phase) -> None:
    """One transaction at a phase boundary: the phase that just succeeded is recorded, then — unless a cancel was
    requested meanwhile (raised as Cancelled once that is committed) — ``phase`` begins. Buffered log lines go
    first. A failure rolls back both: the finished phase is still ``running`` and a retry re-runs it (idempotent)."""
    cancelled = False
    async with run.step() as (db, deployment):
        if ended is not None:
            await _record_end(db, deployment, *ended, "succeeded")
        record = phase_record(deployment, phase)
        if deployment.cancel_requested:
            cancelled = True
            if record.get("status") in {"running", "retrying"}:  # interrupted by a dead worker or a transient error
                record.update(status="cancelled", finished_at=now_iso())
                set_phase_record(deployment, phase, record)
                await emit(db, deployment, "phase", phase=phase.value, status="cancelled",
                           message=f"{phase.value} cancelled")  # fmt: skip
        else:
            record.update(status="running", started_at=now_iso(), finished_at=None, error=None)
            record["attempts"] = int(record.get("attempts") or 0) + 1
            set_phase_record(deployment, phase, record)
            deployment.phase = phase.value
            await emit(db, deployment, "phase", phase=phase.value, status="running",
                       message=f"{phase.value} started", data={"attempt": record["attempts"]})  # fmt: skip
    if cancelled:
        raise Cancelled()
    run.phase = phase.value


async def _record_end(
    db: AsyncSession, deployment: Deployment, phase: Phase, duration: float, status: str, error: str | None = None
) -> None:
    record = phase_record(deployment, phase)
    record.update(status=status, finished_at=now_iso(), duration_s=round(duration, 3), error=error)
    if status in {"succeeded", "failed"}:
        record["transient_failures"] = 0
    set_phase_record(deployment, phase, record)
    message = f"{phase.value} {status}" + (f": {error}" if error else "")
    await emit(db, deployment, "phase", phase=phase.value, status=status, message=message,
               data={"duration_s": round(duration, 3)})  # fmt: skip


async def _end(run: Run, phase: Phase, status: str, duration: float, error: str | None = None) -> None:
    async with run.step() as (db, deployment):  # buffered log lines first, in the same transaction
        await _record_end(db, deployment, phase, duration, status, error)


async def _run_phases(run: Run, start: int, inputs: dict[str, object]) -> Outcome:
    phase = PHASES[min(start, len(PHASES) - 1)]
    result: dict[str, object] | None = None
    began = time.monotonic()
    begun = False
    ended: Ended | None = None  # recorded together with the next boundary (or the result): one commit, not two
    try:
        for next_phase in PHASES[start:]:
            await _advance(run, ended, next_phase)
            phase, ended = next_phase, None
            began, begun = time.monotonic(), True
            result = await PHASE_FUNCS[phase](run, inputs)
            ended, begun = (phase, time.monotonic() - began), False
    except LeaseLost:
        log.warning("deployment_lease_lost", deployment_id=run.deployment_id, phase=phase.value)
        return Outcome("lease_lost")
    except Cancelled:
        if begun:
            await _end(run, phase, "cancelled", time.monotonic() - began)
        summary = await _apply_on_failure(run)
        await _finish(run, DeploymentStatus.cancelled, "cancelled", "deployment cancelled", summary=summary)
        return Outcome("cancelled")
    except Exception as exc:
        error = classify(exc, phase.value)
        if error.code == "internal_error":
            log.exception("deployment_internal_error", deployment_id=run.deployment_id, phase=phase.value)
        return await _failed(run, phase, error, time.monotonic() - began)
    summary_data = result or {}
    await _finish(run, DeploymentStatus.succeeded, None, "deployment succeeded", data=summary_data, ended=ended)
    return Outcome("succeeded")


async def _failed(run: Run, phase: Phase, error: PipelineError, duration: float) -> Outcome:
    async with run.step() as (_, deployment):
        failures = int(phase_record(deployment, phase).get("transient_failures") or 0) + 1
    if error.transient and failures < run.options.max_tries:
        delay = backoff(run.options, failures)
        async with run.step() as (db, deployment):  # buffered log lines first, in the same transaction
            record = phase_record(deployment, phase)
            record.update(status="retrying", error=error.message, transient_failures=failures,
                          finished_at=now_iso(), duration_s=round(duration, 3))  # fmt: skip
            set_phase_record(deployment, phase, record)
            deployment.status = DeploymentStatus.pending.value
            await emit(db, deployment, "phase", phase=phase.value, status="retrying",
                       message=f"{phase.value}: {error.message} — retrying in {delay:.1f} s",
                       data={"error_code": error.code, "attempt": failures, "retry_in_s": round(delay, 2)})  # fmt: skip
            await lease.release(db, run.deployment_id, run.owner)
        return Outcome("retry", retry_in=delay)
    await _end(run, phase, "failed", duration, error.message)
    summary = await _apply_on_failure(run)
    await _finish(run, DeploymentStatus.failed, error.code, error.message, summary=summary)
    return Outcome("failed")


async def _apply_on_failure(run: Run) -> str | None:
    async with run.step() as (_, deployment):
        policy = deployment.on_failure
    if policy != OnFailure.destroy.value:
        return f"container {run.vmid} kept for debugging" if run.vmid is not None else None
    try:
        return await destroy_if_ours(run)
    except LeaseLost:
        raise
    except Exception as exc:  # the failure being reported matters more than the cleanup's
        log.warning("on_failure_destroy_failed", deployment_id=run.deployment_id, error=type(exc).__name__)
        return f"destroying the container failed: {type(exc).__name__}"


async def _finish(
    run: Run,
    status: DeploymentStatus,
    code: str | None,
    message: str,
    *,
    summary: str | None = None,
    data: dict[str, object] | None = None,
    ended: Ended | None = None,
) -> None:
    async with run.step() as (db, deployment):  # buffered log lines first, in the same transaction
        if ended is not None:  # the last phase, recorded with the result
            await _record_end(db, deployment, *ended, "succeeded")
        deployment.status = status.value
        deployment.finished_at = utcnow()
        deployment.error_code = code
        deployment.error_message = None if status == DeploymentStatus.succeeded else message
        payload: dict[str, object] = {"vmid": run.vmid, "ip": run.ip_address, **(data or {})}
        if summary:
            payload["cleanup"] = summary
        await emit(db, deployment, "result", phase=run.phase, status=status.value,
                   message=message + (f" ({summary})" if summary else ""), data=payload)  # fmt: skip
        await lease.release(db, run.deployment_id, run.owner)


async def _fail_before_start(
    sessionmaker: async_sessionmaker[AsyncSession],
    deployment_id: str,
    owner: str,
    options: PipelineOptions,
    error: PipelineError,
) -> None:
    async with unit_of_work(sessionmaker) as db:
        deployment = await lease.hold(db, deployment_id, owner, options.lease_ttl_s)
        deployment.status = DeploymentStatus.failed.value
        deployment.finished_at = utcnow()
        deployment.error_code, deployment.error_message = error.code, error.message
        await emit(db, deployment, "result", phase=deployment.phase, status="failed", message=error.message,
                   data={"vmid": deployment.vmid})  # fmt: skip
        await lease.release(db, deployment_id, owner)
