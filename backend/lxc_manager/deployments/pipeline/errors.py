"""How the pipeline sorts failures: transient (the job is retried with backoff), permanent (the deployment fails),
cancelled, or a lost lease (another worker owns the deployment now: stop without touching it)."""

from __future__ import annotations

from lxc_manager.integrations.proxmox import (
    ProxmoxAuthError,
    ProxmoxConnectionError,
    ProxmoxError,
    ProxmoxLocked,
    ProxmoxNodeOffline,
    ProxmoxPermissionError,
    ProxmoxTaskError,
    ProxmoxTaskTimeout,
    ProxmoxTLSError,
)
from lxc_manager.integrations.ssh import (
    SSHAuthError,
    SSHCommandError,
    SSHError,
    SSHHostKeyMismatch,
)


class PipelineError(Exception):
    """A classified failure. ``code`` lands in ``deployment.error_code``; the message is shown to users."""

    def __init__(self, code: str, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.transient = transient


class LeaseLost(Exception):
    """Another worker took the deployment over (our lease expired): stop at once, write nothing more."""


class Cancelled(Exception):
    """The user asked to cancel; raised at a phase boundary or between commands."""


def classify(exc: BaseException, phase: str) -> PipelineError:
    """Map an integration error to a PipelineError (never echoes request headers or secrets)."""
    if isinstance(exc, PipelineError):
        return exc
    if isinstance(exc, ProxmoxNodeOffline):
        return PipelineError("node_offline", f"the Proxmox node is offline or unreachable: {exc.message}")
    if isinstance(exc, ProxmoxAuthError):
        return PipelineError("credentials_invalid", "the node's API token was refused (revoked or expired?)")
    if isinstance(exc, ProxmoxPermissionError):
        return PipelineError("permission_denied", f"the node's API token lacks a privilege: {exc.message}")
    if isinstance(exc, ProxmoxTLSError):
        return PipelineError("tls_error", f"TLS check of the node failed: {exc.message}")
    if isinstance(exc, ProxmoxTaskError) and exc.exitstatus.startswith(("CT is locked", "VM is locked")):
        # The worker refused before doing anything (PVE checks the lock inside the task): safe to try later.
        return PipelineError("ct_locked", f"the container is locked: {exc.exitstatus}", transient=True)
    if isinstance(exc, ProxmoxTaskError):
        tail = " | ".join(exc.log_tail[-3:]) if exc.log_tail else ""
        return PipelineError(f"{phase}_task_failed", f"the {phase} task failed: {exc.exitstatus} {tail}".strip())
    if isinstance(exc, ProxmoxTaskTimeout):
        return PipelineError(f"{phase}_timeout", f"the {phase} task did not finish in time", transient=True)
    if isinstance(exc, ProxmoxLocked):
        return PipelineError("ct_locked", f"the container stays locked: {exc.message}", transient=True)
    if isinstance(exc, ProxmoxConnectionError):
        return PipelineError("node_unreachable", f"the node did not answer: {exc.message}", transient=True)
    if isinstance(exc, ProxmoxError):
        transient = type(exc).transient
        return PipelineError(f"{phase}_failed", f"Proxmox: {exc.message}", transient=transient)
    if isinstance(exc, SSHHostKeyMismatch):
        return PipelineError("ssh_host_key_mismatch", "the node's SSH host key does not match the pinned key")
    if isinstance(exc, SSHAuthError):
        return PipelineError("ssh_auth_failed", "the node refused the SSH key")
    if isinstance(exc, SSHCommandError):
        return PipelineError(f"{phase}_failed", exc.message)
    if isinstance(exc, SSHError):
        return PipelineError(f"{phase}_failed", f"SSH: {exc.message}", transient=type(exc).transient)
    return PipelineError("internal_error", f"unexpected {type(exc).__name__} in {phase}")
