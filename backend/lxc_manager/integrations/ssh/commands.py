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
    "validate_vmid",
]

VMID_MIN = 100
VMID_MAX = 999_999_999
_ACCOUNT = re.compile(r"^(?:[0-9]{1,10}|[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?)$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A constant script: the env file path and the command arrive as positional parameters, never inside the script.
ENV_FILE_LOADER = 'set -a && . "$1" && set +a && shift && exec "$@"'


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


def pct_exec_argv(vmid: int, argv: Sequence[str], env_file: str | None = None) -> list[str]:
    """``pct exec VMID -- ARGV…``; with ``env_file`` (a path inside the CT) its variables are exported first."""
    command = [_check_text(arg, f"argv[{index}]") for index, arg in enumerate(argv)]
    if not command:
        raise ValueError("argv is empty")
    if command[0].startswith("-"):
        raise ValueError(f"the command name {command[0]!r} looks like an option")
    prefix = ["pct", "exec", str(validate_vmid(vmid)), "--"]
    if env_file is None:
        return [*prefix, *command]
    return [*prefix, "/bin/sh", "-c", ENV_FILE_LOADER, "lxcm-env", _absolute(env_file, "env_file"), *command]


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
