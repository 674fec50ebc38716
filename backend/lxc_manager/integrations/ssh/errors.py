"""Errors raised by the SSH node client, classified from asyncssh failures and PVE ``pct`` messages.

Exception tree (modelled on httpx's)::

    SSHError
    ├── SSHConnectError                   no usable connection: refused, reset, dropped, channel refused
    ├── SSHHostKeyMismatch                the node's host key is not the pinned one (raised before authentication)
    ├── SSHAuthError                      the node refused our client key (or user)
    ├── SSHTimeout(argv)                  connect or command timeout (a timed-out command's channel is closed)
    └── SSHCommandError(argv, exit_status, stderr_tail)   the remote command exited non-zero (``check=True``)
        └── PctError                      ``pct`` itself failed (not the command run inside the CT)
            ├── PctNotFound               "Configuration file 'nodes/pve1/lxc/105.conf' does not exist"
            ├── PctNotRunning             "CT 100 not running", "Failed to get init pid", "can only push ... running CT"
            └── PctLocked                 "CT is locked (backup)"

Invalid arguments (a VMID out of range, a NUL byte, an option-like path) raise ``ValueError`` before anything is
sent. ``transient`` says whether trying again later may succeed. No message ever contains file contents sent with
``upload``/``push_secret_file`` (secrets travel only there).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

__all__ = [
    "PctError",
    "PctLocked",
    "PctNotFound",
    "PctNotRunning",
    "SSHAuthError",
    "SSHCommandError",
    "SSHConnectError",
    "SSHError",
    "SSHHostKeyMismatch",
    "SSHTimeout",
    "classify_pct_failure",
]


class SSHError(Exception):
    """Base of every error raised by the SSH node client."""

    transient: ClassVar[bool] = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SSHConnectError(SSHError):
    """No usable connection (refused, reset, dropped mid-command, session refused by the server)."""

    transient = True


class SSHHostKeyMismatch(SSHError):
    """The node presented a host key other than the pinned one; nothing was authenticated or run. Never retried."""


class SSHAuthError(SSHError):
    """The node refused the client key for this user."""


class SSHTimeout(SSHError):
    """Connecting or a command took longer than allowed. ``argv`` is set for a command timeout."""

    transient = True

    def __init__(self, message: str, argv: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.argv = list(argv) if argv is not None else None


class SSHCommandError(SSHError):
    """The remote command exited with a non-zero status (or died from a signal: ``exit_status`` -1)."""

    def __init__(self, argv: Sequence[str], exit_status: int, stderr_tail: str) -> None:
        self.argv = list(argv)
        self.exit_status = exit_status
        self.stderr_tail = stderr_tail
        last = stderr_tail.strip().splitlines()[-1:] or [""]
        super().__init__(f"{self.argv[:3]!r}… exited with status {exit_status}: {last[0][:300]}")


class PctError(SSHCommandError):
    """``pct`` failed before or instead of running the requested action."""


class PctNotFound(PctError):
    """The CT does not exist on this node."""


class PctNotRunning(PctError):
    """The action needs a running CT."""


class PctLocked(PctError):
    """The CT is locked (backup, migrate, snapshot, ...)."""


_NOT_FOUND = re.compile(r"Configuration file '[^']*/lxc/\d+\.conf' does not exist|^CT \d+ does not exist", re.M)
_NOT_RUNNING = re.compile(
    r"^CT \d+ not running|Failed to get init pid|can only push files to a running CT|can only pull files from a "
    r"running VM",
    re.M,
)
_LOCKED = re.compile(r"^CT is locked \(|^can't lock file '/run/lock/lxc/pve-config-\d+\.lock'", re.M)
# pct's own argument parser (only meaningful for pct subcommands other than the command run by ``pct exec``).
_PCT_USAGE = re.compile(r"^400 (Parameter verification failed|not enough arguments|too many arguments|unable to parse)",
                        re.M)  # fmt: skip


def classify_pct_failure(argv: Sequence[str], exit_status: int, stderr_tail: str) -> SSHCommandError:
    """The error for a failed ``pct …`` command: a ``PctError`` subclass when pct's own messages say so.

    For ``pct exec`` a non-zero status normally belongs to the command inside the CT, so only pct's and
    lxc-attach's own messages turn it into a ``PctError``.
    """
    for pattern, cls in ((_NOT_FOUND, PctNotFound), (_NOT_RUNNING, PctNotRunning), (_LOCKED, PctLocked)):
        if pattern.search(stderr_tail):
            return cls(argv, exit_status, stderr_tail)
    is_exec = len(argv) > 1 and argv[1] == "exec"
    if not is_exec and exit_status != 0:
        return PctError(argv, exit_status, stderr_tail)
    if is_exec and _PCT_USAGE.search(stderr_tail):
        return PctError(argv, exit_status, stderr_tail)
    return SSHCommandError(argv, exit_status, stderr_tail)
