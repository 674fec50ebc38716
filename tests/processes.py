"""Processes on this machine found by their exact command line: what a test checks to see that a remote command
really stopped (the host sees the processes of containers and sandboxes too)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from pathlib import Path


def pids_running(argv: Sequence[str]) -> list[int]:
    """The pids of the processes whose command line is exactly ``argv``."""
    wanted, pids = b"".join(arg.encode() + b"\0" for arg in argv), []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes() == wanted:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def sleeping(seconds: int) -> int:
    """How many processes run ``sleep SECONDS``."""
    return len(pids_running(["sleep", str(seconds)]))


def unique_seconds() -> int:
    """A ``sleep`` duration no other test (or test run) uses, so its processes are ours alone."""
    return 100_000 + secrets.randbelow(800_000)
