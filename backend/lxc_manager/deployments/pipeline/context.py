"""What one pipeline run holds: ids, the lease, clients, the resolved template, and the journal helpers.

Every DB write is its own short unit of work that first re-checks the lease (``lease.hold``): no transaction is
ever held across a network call (SQLite has one writer), and a worker that lost its lease writes nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lxc_manager.core.config import Settings
from lxc_manager.core.db import unit_of_work
from lxc_manager.core.logging import get_logger
from lxc_manager.core.models import utcnow
from lxc_manager.deployments.pipeline import lease
from lxc_manager.deployments.pipeline.errors import Cancelled
from lxc_manager.deployments.pipeline.options import PipelineOptions
from lxc_manager.deployments.secrets import secret_inputs
from lxc_manager.events.publisher import EventSpec, emit_many
from lxc_manager.integrations.proxmox import ProxmoxClient
from lxc_manager.integrations.ssh import SSHNodeClient, SSHTarget
from lxc_manager.models import Deployment
from lxc_manager.nodes.connection import NodeConnection
from lxc_manager.templates.resolve import SECRET_MASK, ResolvedTemplate

log = get_logger(__name__)

STAMP_TAG = "lxcm"
DESCRIPTION_MARKER = "lxcm-deployment:"
MIN_MASKED_SECRET = 4
CLEANUP_TIMEOUT_S = 30.0  # shorter values would mask ordinary words in log lines


def deployment_tag(deployment_id: str) -> str:
    return f"lxcm-{deployment_id.replace('-', '')[:12]}"


def stamp_description(deployment_id: str) -> str:
    return f"Managed by LXC Template Manager. Do not edit the next line.\n{DESCRIPTION_MARKER} {deployment_id}\n"


def is_stamped(description: str | None, deployment_id: str) -> bool:
    """True when the live config says this CT was created by this deployment."""
    return any(line.strip() == f"{DESCRIPTION_MARKER} {deployment_id}" for line in (description or "").splitlines())


@dataclass
class Run:
    deployment_id: str
    owner: str
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings
    options: PipelineOptions
    node: NodeConnection
    template: ResolvedTemplate
    secrets: dict[str, str] = field(repr=False)
    pve: ProxmoxClient
    pve_node: str
    vmid: int | None = None
    ip_address: str | None = None
    phase: str = "create"
    workdir_ready: bool = False  # the CT's /root/.lxcm is prepared (reset by a rollback, i.e. a new run)
    _ssh: SSHNodeClient | None = None
    _log_buffer: list[EventSpec] = field(default_factory=list)
    _log_first_at: float | None = None
    _cancel_checked_at: float = float("-inf")  # when the cancel flag was last read (a step reads it too)
    _cancel_flag: bool = False

    @property
    def secret_inputs(self) -> dict[str, str]:
        """Secret template inputs by input name (the root password is not one)."""
        return secret_inputs(self.secrets)

    # ---- transactions ----------------------------------------------------------------------------------------
    @asynccontextmanager
    async def step(self) -> AsyncIterator[tuple[AsyncSession, Deployment]]:
        """A unit of work with the lease re-checked and the fresh deployment row (raises LeaseLost).

        Buffered log lines are written first, in the same transaction (one commit instead of two, and they keep
        their place before anything the step records); should the transaction fail, they go back to the buffer."""
        lines, self._log_buffer, self._log_first_at = self._log_buffer, [], None
        try:
            async with unit_of_work(self.sessionmaker) as db:
                deployment = await lease.hold(db, self.deployment_id, self.owner, self.options.lease_ttl_s)
                self._cancel_flag, self._cancel_checked_at = deployment.cancel_requested, time.monotonic()
                if lines:
                    await emit_many(db, deployment, lines)  # one flush and one publish for the batch
                yield db, deployment
        except Exception:
            # Rolled back: nothing of it was written. (Not on cancellation: a commit may have gone through.)
            if lines:
                self._log_buffer[:0] = lines
                self._log_first_at = self._log_first_at or time.monotonic()
            raise

    async def record(self, **data: Any) -> None:
        """Merge ``data`` into the current phase's record (``phases[phase].data``)."""
        async with self.step() as (_, deployment):
            set_phase_data(deployment, self.phase, data)

    async def info(self, message: str, **data: Any) -> None:
        """A progress line (``data`` for clients that read it): it joins the output batch, written by the next
        step or flush — one transaction for many lines instead of one each."""
        self._buffer(
            EventSpec(type="log", phase=self.phase, status="info", message=self.mask(message), data=data or None)
        )

    def _buffer(self, spec: EventSpec) -> None:
        """Queue one event for the next step (or flush)."""
        self._log_buffer.append(spec)
        if self._log_first_at is None:
            self._log_first_at = time.monotonic()

    # ---- streamed output -------------------------------------------------------------------------------------
    def mask(self, text: str) -> str:
        for value in self.secrets.values():
            if len(value) >= MIN_MASKED_SECRET and value in text:
                text = text.replace(value, SECRET_MASK)
        return text

    async def on_line(self, stream: str, line: str) -> None:
        """``SSHNodeClient`` line callback: buffer, then persist in batches (one transaction per batch)."""
        self._buffer(EventSpec(type="log", phase=self.phase, status=stream, message=self.mask(line.rstrip("\r\n"))))
        await self.flush_logs(only_due=True)

    async def flush_logs(self, *, only_due: bool = False) -> None:
        """Write the buffered lines in a step of their own — with ``only_due``, only when the batch is full or its
        oldest line has waited ``log_flush_interval_s``; otherwise they ride along with the next step or flush.
        (Between quick commands that halves a deployment's transactions; a running command's lines are flushed
        every tick by ``ct_run``, so none waits much longer than the interval.)"""
        if not self._log_buffer:
            return
        if only_due and self._log_first_at is not None:
            full = len(self._log_buffer) >= self.options.log_flush_lines
            if not full and time.monotonic() - self._log_first_at < self.options.log_flush_interval_s:
                return
        async with self.step():  # writes the buffered lines
            pass

    # ---- cancel ----------------------------------------------------------------------------------------------
    async def check_cancel(self) -> None:
        """Cooperative cancel, between commands (phase boundaries read the flag in their own step). Every step
        reads it with the row it holds; it is read on its own only when that is older than ``cancel_poll_s``,
        since on SQLite every read transaction takes the write lock."""
        await self.flush_logs(only_due=True)
        if await self.cancel_requested():
            raise Cancelled()

    async def cancel_requested(self) -> bool:
        """The cancel flag, as the last step saw it or — when that is older than ``cancel_poll_s`` — read again
        (no lease write: polled while a command runs)."""
        if self._cancel_flag:
            return True
        if time.monotonic() - self._cancel_checked_at < self.options.cancel_poll_s:
            return False
        async with self.sessionmaker() as db:
            flag = await db.scalar(select(Deployment.cancel_requested).where(Deployment.id == self.deployment_id))
        self._cancel_flag, self._cancel_checked_at = bool(flag), time.monotonic()
        return self._cancel_flag

    # ---- SSH -------------------------------------------------------------------------------------------------
    async def ssh(self) -> SSHNodeClient:
        if self._ssh is None:
            from lxc_manager.deployments.pipeline.errors import PipelineError

            node = self.node
            if not node.ssh_private_key or not node.ssh_host_key:
                raise PipelineError(
                    "ssh_not_configured",
                    f"node {node.name!r} has no SSH key or pinned host key; provisioning needs both",
                )
            target = SSHTarget(node.ssh_host, node.ssh_port, node.ssh_user, node.ssh_private_key, node.ssh_host_key)
            client = SSHNodeClient(target, command_timeout=self.options.command_timeout_s)
            await client.connect()
            self._ssh = client
        return self._ssh

    async def close(self) -> None:
        if self._ssh is not None:
            try:
                await asyncio.wait_for(self._ssh.cleanup(), CLEANUP_TIMEOUT_S)
            except Exception as exc:  # the private dir is best-effort housekeeping (and the node may be gone)
                log.warning("ssh_cleanup_failed", deployment_id=self.deployment_id, error=type(exc).__name__)
            await self._ssh.close()
            self._ssh = None
        await self.pve.aclose()


def phase_record(deployment: Deployment, phase: str) -> dict[str, Any]:
    return dict((deployment.phases or {}).get(phase) or {})


def set_phase_record(deployment: Deployment, phase: str, record: dict[str, Any]) -> None:
    phases = dict(deployment.phases or {})
    phases[phase] = record
    deployment.phases = phases  # a new dict: plain JSON columns do not track in-place changes


def set_phase_data(deployment: Deployment, phase: str, data: dict[str, Any]) -> None:
    record = phase_record(deployment, phase)
    record["data"] = {**(record.get("data") or {}), **data}
    set_phase_record(deployment, phase, record)


def now_iso() -> str:
    return utcnow().isoformat()
