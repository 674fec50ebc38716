"""Building remote command lines from argument lists, and the ``pct`` argv builders.

The remote side runs every command through the login shell (``$SHELL -c STRING``), so the only safe way to pass
arguments is one string that the shell splits back into exactly the same list: ``shlex.join(argv)``. No text is
ever formatted into a shell string. Quoting alone does not stop option injection (``-oProxyCommand=…``), so
``pct exec`` separates its own options from the command with ``--`` and paths that pct parses must be absolute.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "ENV_FILE_LOADER",
    "TETHER",
    "TETHER_KILL_GRACE_S",
    "VMID_MAX",
    "VMID_MIN",
    "PctListEntry",
    "build_command",
    "format_env_file",
    "parse_pct_list",
    "pct_exec_argv",
    "pct_list_argv",
    "pct_pull_argv",
    "pct_push_argv",
    "pct_status_argv",
    "tethered",
    "validate_vmid",
]

VMID_MIN = 100
VMID_MAX = 999_999_999
_ACCOUNT = re.compile(r"^(?:[0-9]{1,10}|[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?)$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A constant script: the env file path and the command arrive as positional parameters, never inside the script.
ENV_FILE_LOADER = 'set -a && . "$1" && set +a && shift && exec "$@"'
TETHER_KILL_GRACE_S = 5
# Ties a command's life to the SSH channel. sshd refuses `signal` requests for root logins (the monitor runs the
# session itself) and closing the channel stops a command only at its next write, so a silent one (`sleep`, a
# script waiting on a lock) would run on after a cancel, a timeout or a lost connection. The client keeps stdin
# open and never writes to it; sshd closes the pipe when the channel closes, and then this script signals the
# command's process group (its own session via setsid, so the whole tree): TERM, then KILL after a grace.
# The command reads /dev/null, as with an immediate EOF. POSIX sh (dash, bash, busybox ash); `kill -- -PID` is not
# portable (dash), `kill -SIG -PID` is; without setsid (some minimal images) only the command itself is signalled.
TETHER = (
    'exec 3<&0 </dev/null; if command -v setsid >/dev/null 2>&1; then setsid "$@" 3<&- & else "$@" 3<&- & fi; '
    'pid=$!; ( exec >/dev/null 2>&1; while read -r _ <&3; do :; done; kill -TERM -"$pid" || kill -TERM "$pid"; '
    f'sleep {TETHER_KILL_GRACE_S}; kill -KILL -"$pid" || kill -KILL "$pid" ) & watch=$!; exec 3<&-; '
    'wait "$pid"; status=$?; kill "$watch" 2>/dev/null; exit "$status"'
)


def _check_text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, not {type(value).__name__}")
    if "\x00" in value:
        raise ValueError(f"{what} contains a NUL byte")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid UTF-8 text") from None
    return value


def build_command(argv: Sequence[str]) -> str:
    """The command string for ``argv``: the remote shell splits it back into exactly ``argv``."""
    if isinstance(argv, str | bytes):
        raise ValueError("argv must be a list of arguments, not a string")
    checked = [_check_text(arg, f"argv[{index}]") for index, arg in enumerate(argv)]
    if not checked:
        raise ValueError("argv is empty")
    return shlex.join(checked)


def validate_vmid(vmid: int) -> int:
    if isinstance(vmid, bool) or not isinstance(vmid, int):
        raise ValueError(f"vmid must be an integer, not {type(vmid).__name__}")
    if not VMID_MIN <= vmid <= VMID_MAX:
        raise ValueError(f"vmid {vmid} is outside {VMID_MIN}-{VMID_MAX}")
    return vmid


def _absolute(path: str, what: str) -> str:
    _check_text(path, what)
    if not path.startswith("/"):
        # Also rules out a leading "-", which pct's option parser would take for an option.
        raise ValueError(f"{what} must be an absolute path, got {path!r}")
    if "\n" in path:
        raise ValueError(f"{what} contains a newline")
    return path


def _account(name: str | None, what: str) -> list[str]:
    if name is None:
        return []
    if not isinstance(name, str) or not _ACCOUNT.match(name):
        raise ValueError(f"{what} {name!r} is not a valid user/group name or id")
    return [f"--{what}", name]


def _perms(perms: int | None) -> list[str]:
    if perms is None:
        return []
    if isinstance(perms, bool) or not isinstance(perms, int) or not 0 <= perms <= 0o7777:
        raise ValueError(f"perms must be an integer mode 0-0o7777, got {perms!r}")
    return ["--perms", f"0{perms:o}"]


def tethered(argv: Sequence[str]) -> list[str]:
    """``argv`` run under ``TETHER``: it ends when the channel's stdin closes (the caller holds stdin open)."""
    return ["/bin/sh", "-c", TETHER, "lxcm-tether", *argv]


def pct_exec_argv(vmid: int, argv: Sequence[str], env_file: str | None = None, *, tether: bool = False) -> list[str]:
    """``pct exec VMID -- ARGV…``; with ``env_file`` (a path inside the CT) its variables are exported first; with
    ``tether`` the command runs under ``TETHER`` inside the CT, so the signal reaches the processes there whatever
    ``pct``/``lxc-attach`` forward."""
    command = [_check_text(arg, f"argv[{index}]") for index, arg in enumerate(argv)]
    if not command:
        raise ValueError("argv is empty")
    if command[0].startswith("-"):
        raise ValueError(f"the command name {command[0]!r} looks like an option")
    if env_file is not None:
        command = ["/bin/sh", "-c", ENV_FILE_LOADER, "lxcm-env", _absolute(env_file, "env_file"), *command]
    return ["pct", "exec", str(validate_vmid(vmid)), "--", *(tethered(command) if tether else command)]


def pct_push_argv(
    vmid: int, source_on_node: str, dest: str, *, perms: int | None = None, user: str | None = None,
    group: str | None = None,
) -> list[str]:  # fmt: skip
    return ["pct", "push", str(validate_vmid(vmid)), _absolute(source_on_node, "source"), _absolute(dest, "dest"),
            *_perms(perms), *_account(user, "user"), *_account(group, "group")]  # fmt: skip


def pct_pull_argv(
    vmid: int, source_in_ct: str, dest_on_node: str, *, perms: int | None = None, user: str | None = None,
    group: str | None = None,
) -> list[str]:  # fmt: skip
    return ["pct", "pull", str(validate_vmid(vmid)), _absolute(source_in_ct, "source"),
            _absolute(dest_on_node, "dest"), *_perms(perms), *_account(user, "user"),
            *_account(group, "group")]  # fmt: skip


def pct_status_argv(vmid: int) -> list[str]:
    return ["pct", "status", str(validate_vmid(vmid))]


def pct_list_argv() -> list[str]:
    return ["pct", "list"]


def format_env_file(variables: Mapping[str, str]) -> bytes:
    """A POSIX-shell-sourceable env file (``NAME='value'`` lines) for ``pct_exec(env_file=…)``."""
    lines = []
    for name, value in variables.items():
        if not _ENV_NAME.match(name):
            raise ValueError(f"invalid environment variable name {name!r}")
        lines.append(f"{name}={shlex.quote(_check_text(value, name))}\n")
    return "".join(lines).encode()


@dataclass(frozen=True)
class PctListEntry:
    vmid: int
    status: str
    lock: str
    name: str


def parse_pct_list(text: str) -> list[PctListEntry]:
    """``pct list`` output (fixed-width columns; the lock column is often empty)."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("VMID"):
        return []
    header = lines[0]
    status_at, lock_at, name_at = header.index("Status"), header.index("Lock"), header.index("Name")
    entries = []
    for line in lines[1:]:
        if not line.strip():
            continue
        entries.append(PctListEntry(
            vmid=int(line[:status_at].strip()), status=line[status_at:lock_at].strip(),
            lock=line[lock_at:name_at].strip(), name=line[name_at:].strip(),
        ))  # fmt: skip
    return entries
