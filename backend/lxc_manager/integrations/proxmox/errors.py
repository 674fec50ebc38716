"""Errors raised by the Proxmox VE client, classified from PVE's answers.

Exception tree (modelled on httpx's)::

    ProxmoxError
    ├── ProxmoxConnectionError            no HTTP answer (refused, reset, DNS, ...)
    │   ├── ProxmoxTLSError               handshake/verification failed, incl. fingerprint pin mismatch
    │   └── ProxmoxTimeout                connect/read/write/pool timeout
    ├── ProxmoxAPIError(status, reason, errors, body)   PVE answered with an error status
    │   ├── ProxmoxValidationError        400 "Parameter verification failed." (per-parameter ``errors``)
    │   ├── ProxmoxAuthError              401 "No ticket" / "Authentication failed!" / "authentication failure"
    │   ├── ProxmoxPermissionError        403 "Permission check failed (/vms/100, VM.Audit)"
    │   ├── ProxmoxNotFound               404, or 500 "... does not exist" / "no such ..."
    │   ├── ProxmoxConflict               500 "CT 100 already running", "detected modified configuration ..."
    │   │   ├── ProxmoxLocked             500 "CT is locked (backup)"
    │   │   │   └── ProxmoxLockTimeout    500 "can't lock file '...' - got timeout" (transient, nothing was done)
    │   │   └── ProxmoxAlreadyExists      500 "CT 100 already exists on node 'pve'"
    │   ├── ProxmoxNotImplemented         501 "Method 'GET /x' not implemented"
    │   ├── ProxmoxNodeOffline            595/596: pveproxy could not reach the target node
    │   └── ProxmoxTransientError         502/503/504, 500 "got no worker upid", other "got timeout"
    ├── ProxmoxTaskError(upid, exitstatus, log_tail)    a worker task ended with an error exit status
    └── ProxmoxTaskTimeout(upid)          ``wait_task`` gave up; the task may still be running (not cancelled)

Two attributes drive the client's retry policy (see ``client.py``):

* ``transient``: trying again later may succeed;
* ``not_executed``: PVE (or the network) certainly did nothing with the request, so even a POST may be re-sent.

No exception message ever contains request headers (the API token secret lives only there).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "ProxmoxAPIError",
    "ProxmoxAlreadyExists",
    "ProxmoxAuthError",
    "ProxmoxConflict",
    "ProxmoxConnectionError",
    "ProxmoxError",
    "ProxmoxLockTimeout",
    "ProxmoxLocked",
    "ProxmoxNodeOffline",
    "ProxmoxNotFound",
    "ProxmoxNotImplemented",
    "ProxmoxPermissionError",
    "ProxmoxTLSError",
    "ProxmoxTaskError",
    "ProxmoxTaskTimeout",
    "ProxmoxTimeout",
    "ProxmoxTransientError",
    "ProxmoxValidationError",
    "classify_api_error",
]


class ProxmoxError(Exception):
    """Base of every error raised by the client."""

    transient: ClassVar[bool] = False

    def __init__(self, message: str, *, not_executed: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.not_executed = not_executed


class ProxmoxConnectionError(ProxmoxError):
    """No HTTP answer was received. ``not_executed`` is true when the request never left (connect failure)."""

    transient = True


class ProxmoxTLSError(ProxmoxConnectionError):
    """TLS failed: untrusted certificate, hostname mismatch or pinned fingerprint mismatch. Never retried."""

    transient = False

    def __init__(self, message: str, *, expected: str | None = None, actual: str | None = None) -> None:
        super().__init__(message, not_executed=True)
        self.expected_fingerprint = expected
        self.actual_fingerprint = actual


class ProxmoxTimeout(ProxmoxConnectionError):
    """Connect, read, write or pool timeout."""


class ProxmoxAPIError(ProxmoxError):
    """PVE answered with an error status. ``reason`` is the status line's phrase (PVE puts the message there)."""

    def __init__(
        self,
        status: int,
        reason: str,
        errors: Mapping[str, str] | None = None,
        body: Any = None,
        *,
        method: str = "",
        path: str = "",
        not_executed: bool = False,
    ) -> None:
        self.status = status
        self.reason = reason
        self.errors: dict[str, str] = dict(errors or {})
        self.body = body
        self.method = method
        self.path = path
        where = f"{method} {path}: " if method else ""
        text = f"{where}{status} {reason}"
        if self.errors:
            text += " (" + "; ".join(f"{k}: {v}" for k, v in sorted(self.errors.items())) + ")"
        super().__init__(text, not_executed=not_executed)


class ProxmoxValidationError(ProxmoxAPIError):
    """400 Parameter verification failed; ``errors`` maps parameter name to message."""


class ProxmoxAuthError(ProxmoxAPIError):
    """401: token unknown, revoked or malformed. PVE delays these answers by ~3 s."""


class ProxmoxPermissionError(ProxmoxAPIError):
    """403: the token lacks a privilege on a path."""


class ProxmoxNotFound(ProxmoxAPIError):
    """The guest/storage/task does not exist (PVE mostly says this with a 500)."""


class ProxmoxConflict(ProxmoxAPIError):
    """The request conflicts with the current state (already running, stale digest, ...)."""


class ProxmoxLocked(ProxmoxConflict):
    """The guest config carries a lock (``CT is locked (backup)``). Callers poll ``lock`` rather than retry blindly."""

    @property
    def lock(self) -> str | None:
        match = _LOCKED_RE.search(self.reason)
        return match.group(1) if match else None


class ProxmoxLockTimeout(ProxmoxLocked):
    """PVE waited 10 s for a config flock and gave up before doing anything: safe to re-send."""

    transient = True


class ProxmoxAlreadyExists(ProxmoxConflict):
    """The VMID is taken (``CT 100 already exists on node 'pve'``)."""


class ProxmoxNotImplemented(ProxmoxAPIError):
    """501: unknown path/method, or a body on GET/DELETE."""


class ProxmoxNodeOffline(ProxmoxAPIError):
    """595/596: the contacted node could not reach the target node. Not retried: callers fail fast."""


class ProxmoxTransientError(ProxmoxAPIError):
    """A temporary server-side failure (gateway errors, worker fork failures, timeouts)."""

    transient = True


class ProxmoxTaskError(ProxmoxError):
    """A worker task stopped with an exit status other than ``OK`` / ``WARNINGS: n``. Never re-dispatched."""

    def __init__(self, upid: str, exitstatus: str, log_tail: list[str] | None = None) -> None:
        self.upid = upid
        self.exitstatus = exitstatus
        self.log_tail = list(log_tail or [])
        super().__init__(f"task {upid} failed: {exitstatus}")


class ProxmoxTaskTimeout(ProxmoxError):
    """The task did not stop within the wait. It is neither failed nor cancelled: poll again, never re-dispatch."""

    def __init__(self, upid: str, waited: float) -> None:
        self.upid = upid
        self.waited = waited
        super().__init__(f"task {upid} still running after {waited:g} s")


_LOCKED_RE = re.compile(r"\bis locked \(([^)]*)\)")
_LOCK_FILE_TIMEOUT_RE = re.compile(r"can't lock file '[^']*' - got timeout")
_ALREADY_EXISTS_RE = re.compile(r"\b(?:CT|VM) \d+ already exists")
_NOT_FOUND_RES = (
    re.compile(r"does not exist"),
    re.compile(r"\bno such (?:task|VM|CT|container|storage|volume|snapshot|node|file)", re.IGNORECASE),
    re.compile(r"\bnot found\b", re.IGNORECASE),
)
_CONFLICT_RES = (
    re.compile(r"\balready running\b"),
    re.compile(r"\bnot running\b"),
    re.compile(r"detected modified configuration"),
    re.compile(r"snapshot name '[^']*' already used"),
)
_TRANSIENT_RES = (
    re.compile(r"got no worker upid"),
    re.compile(r"\bgot timeout\b"),
)


def _message_of(reason: str, body: Any) -> str:
    """PVE >= 5.2 http-server puts the full message into the body; older ones only in the reason phrase."""
    if isinstance(body, Mapping):
        message = body.get("message")
        if isinstance(message, str) and message.strip():
            return message.strip()
    return reason.strip()


def _errors_of(body: Any) -> dict[str, str]:
    if isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, Mapping):
            return {str(k): str(v).strip() for k, v in errors.items()}
    return {}


def classify_api_error(status: int, reason: str, body: Any, *, method: str = "", path: str = "") -> ProxmoxAPIError:
    """Turn a PVE error answer into the most specific exception class."""
    message = _message_of(reason, body)
    errors = _errors_of(body)
    kind: type[ProxmoxAPIError] = ProxmoxAPIError
    not_executed = False
    if status == 400:
        kind, not_executed = ProxmoxValidationError, True
    elif status == 401:
        kind, not_executed = ProxmoxAuthError, True
    elif status == 403:
        kind, not_executed = ProxmoxPermissionError, True
    elif status == 404:
        kind, not_executed = ProxmoxNotFound, True
    elif status == 501:
        kind, not_executed = ProxmoxNotImplemented, True
    elif status in (595, 596):
        kind = ProxmoxNodeOffline
        # 595: the proxied connection was never established, so the target node saw nothing.
        not_executed = status == 595
    elif status in (502, 503, 504):
        kind = ProxmoxTransientError
    elif status >= 500:
        if _LOCK_FILE_TIMEOUT_RE.search(message):
            kind, not_executed = ProxmoxLockTimeout, True
        elif _LOCKED_RE.search(message):
            kind, not_executed = ProxmoxLocked, True
        elif _ALREADY_EXISTS_RE.search(message):
            kind, not_executed = ProxmoxAlreadyExists, True
        elif any(r.search(message) for r in _NOT_FOUND_RES):
            kind, not_executed = ProxmoxNotFound, True
        elif any(r.search(message) for r in _CONFLICT_RES):
            kind, not_executed = ProxmoxConflict, True
        elif "got no worker upid" in message:
            # The worker fork failed: the task never started.
            kind, not_executed = ProxmoxTransientError, True
        elif any(r.search(message) for r in _TRANSIENT_RES):
            kind = ProxmoxTransientError
    return kind(status, message, errors, body, method=method, path=path, not_executed=not_executed)
