"""Entry point: ``python -m lxc_manager.pvesim.hostcli --state-dir DIR [--node NODE] TOOL ARGS…``.

Also reachable as ``lxc-manager pve-cli …``; the shims in ``<state-dir>/bin`` call the module directly (it starts
faster than the full ``lxc-manager`` command). ``--node`` defaults to ``$LXCM_PVE_NODE``, then the first node.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from lxc_manager.pvesim.hostcli.options import CliError

TOOLS = ("pct", "pvesh", "pveam", "pvesm")
USAGE = "usage: lxc-manager pve-cli --state-dir DIR [--node NODE] {pct,pvesh,pveam,pvesm} ARGS…\n"


def _split(argv: list[str]) -> tuple[Path, str | None, str, list[str]]:
    state_dir: str | None = None
    node: str | None = None
    while argv and argv[0] in {"--state-dir", "--node"}:
        if len(argv) < 2:
            raise CliError(f"{argv[0]} needs a value\n{USAGE}", 2)
        if argv[0] == "--state-dir":
            state_dir = argv[1]
        else:
            node = argv[1]
        argv = argv[2:]
    state_dir = state_dir or os.environ.get("LXCM_PVESIM_STATE_DIR")
    if not state_dir or not argv or argv[0] not in TOOLS:
        raise CliError(USAGE, 2)
    return Path(state_dir), node, argv[0], argv[1:]


async def _dispatch(state_dir: Path, node: str | None, tool: str, args: list[str]) -> int:
    from lxc_manager.pvesim.hostcli.context import HostContext

    ctx = HostContext.load(state_dir, node)
    if tool == "pct":
        from lxc_manager.pvesim.hostcli.pct import Pct

        return await Pct(ctx).run(args)
    from lxc_manager.pvesim.hostcli.tools import Pveam, Pvesh, Pvesm

    if tool == "pvesh":
        return int(await Pvesh(ctx).run(args))
    if tool == "pveam":
        return int(await Pveam(ctx).run(args))
    return int(await Pvesm(ctx).run(args))


def main(argv: Sequence[str] | None = None) -> int:
    try:
        state_dir, node, tool, args = _split(list(sys.argv[1:] if argv is None else argv))
        return asyncio.run(_dispatch(state_dir, node, tool, args))
    except CliError as exc:
        sys.stdout.flush()
        sys.stderr.write(exc.message)
        return exc.code
    except KeyboardInterrupt:
        return 130
