"""SSH client that provisioning uses to drive a PVE node (``pct exec/push/pull/status/list``, SFTP uploads).

Imports only ``core`` (and asyncssh). Host keys are pinned and always verified; commands are argument lists;
secrets travel as 0600 files, never in command lines. See ``docs/ssh.md``.
"""

from lxc_manager.integrations.ssh.client import CommandResult, LineCallback, SSHNodeClient, SSHTarget
from lxc_manager.integrations.ssh.commands import (
    PctListEntry,
    build_command,
    format_env_file,
    pct_exec_argv,
    validate_vmid,
)
from lxc_manager.integrations.ssh.errors import (
    PctError,
    PctLocked,
    PctNotFound,
    PctNotRunning,
    SSHAuthError,
    SSHCommandError,
    SSHConnectError,
    SSHError,
    SSHHostKeyMismatch,
    SSHTimeout,
)

__all__ = [
    "CommandResult",
    "LineCallback",
    "PctError",
    "PctListEntry",
    "PctLocked",
    "PctNotFound",
    "PctNotRunning",
    "SSHAuthError",
    "SSHCommandError",
    "SSHConnectError",
    "SSHError",
    "SSHHostKeyMismatch",
    "SSHNodeClient",
    "SSHTarget",
    "SSHTimeout",
    "build_command",
    "format_env_file",
    "pct_exec_argv",
    "validate_vmid",
]
