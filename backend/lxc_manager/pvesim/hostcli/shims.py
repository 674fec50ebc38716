"""The ``<state-dir>/bin/{pct,pvesh,pveam,pvesm}`` shims that make this machine the simulated node's shell."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from lxc_manager.pvesim.hostcli.main import TOOLS


def write_shims(state_dir: Path, python: str = sys.executable) -> Path:
    """Write one executable per tool (``exec`` of this package, state dir baked in); returns the folder.

    Put the folder first on PATH (``LXCM_PVE_CLI_DIR`` for the bash engine's real-LXC lane); ``LXCM_PVE_NODE``
    picks the node (default: the first one)."""
    folder = state_dir / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    state = shlex.quote(str(state_dir.resolve()))
    for tool in TOOLS:
        target = folder / tool
        tmp = target.with_suffix(".tmp")
        tmp.write_text(
            "#!/bin/sh\n"
            f"# {tool} on a node of the PVE simulator in {state_dir.resolve()} (written by lxc-manager pve-sim)\n"
            f'exec {shlex.quote(python)} -m lxc_manager.pvesim.hostcli --state-dir {state} {tool} "$@"\n'
        )
        tmp.chmod(0o755)
        tmp.replace(target)
    return folder
