"""``lxc-manager pve-sim``: argument parsing (imports the simulator lazily so the main CLI stays light)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

from lxc_manager.core.config import REPO_ROOT


def _run(args: argparse.Namespace) -> int:
    from lxc_manager.core.logging import configure_logging
    from lxc_manager.pvesim.core import SimConfig
    from lxc_manager.pvesim.schema import SchemaUnavailable
    from lxc_manager.pvesim.server import serve

    configure_logging(os.environ.get("LXCM_LOG_LEVEL", "INFO"), json=False)
    if args.nodes < 1:
        sys.stderr.write("error: --nodes must be at least 1\n")
        return 2
    if args.keep:
        os.environ["LXCM_PVESIM_KEEP"] = "1"  # read by the lxc backend: leave its real containers on exit
    config = SimConfig(
        nodes=args.nodes, task_duration=args.task_duration, auth_delay=args.auth_delay, seed=args.seed,
        state_dir=Path(args.state_dir),
    )  # fmt: skip
    # uvicorn re-raises the signal it caught once it has shut down; with SIG_DFL a SIGTERM would then kill the process
    # before the at-exit clean-up (the lxc backend stops and removes its real containers there). Treat it as Ctrl-C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        asyncio.run(serve(config, args.host, args.port, args.ssh_port, args.schema, args.backend))
    except SchemaUnavailable as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def register(sub: Any) -> None:
    """Add the ``pve-sim`` subcommand to the main parser's subparsers."""
    sim = sub.add_parser("pve-sim", help="run a simulated Proxmox VE cluster (HTTPS API + SSH pct)")
    sim.add_argument("--nodes", type=int, default=3, help="number of nodes pve1..pveN (default 3)")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8006, help="HTTPS port (0 = any free port)")
    sim.add_argument("--ssh-port", type=int, default=0, help="first SSH port, one per node (0 = free ports)")
    sim.add_argument("--backend", choices=["memory", "lxc"], default="memory")
    sim.add_argument("--keep", action="store_true", help="lxc backend: keep the real containers on exit (debugging)")
    sim.add_argument("--state-dir", default=str(REPO_ROOT / "data" / "pve-sim"))
    sim.add_argument("--task-duration", type=float, default=1.0, help="seconds a task stays running")
    sim.add_argument("--auth-delay", type=float, default=3.0, help="delay before a 401 (PVE uses 3 s)")
    sim.add_argument("--seed", type=int, default=0, help="seed for MACs and fault randomness")
    sim.add_argument("--schema", default=None, help="path to apidata.json (default $LXCM_PVE_SCHEMA or "
                     "../shared/pve-api/apidata.json)")  # fmt: skip
    sim.set_defaults(func=_run)

    host = sub.add_parser("pve-cli", help="pct/pvesh/pveam/pvesm on a node of a running simulator (see its bin/)")
    host.add_argument("--state-dir", required=True, help="the simulator's --state-dir (holds connection.json)")
    host.add_argument("--node", default=None, help="the node whose shell this is (default $LXCM_PVE_NODE or the first)")
    host.add_argument("tool", choices=["pct", "pvesh", "pveam", "pvesm"])
    host.add_argument("args", nargs=argparse.REMAINDER, help="the tool's own arguments, in PVE's syntax")
    host.set_defaults(func=_host_cli)


def _host_cli(args: argparse.Namespace) -> int:
    from lxc_manager.pvesim.hostcli.main import main

    node = ["--node", args.node] if args.node else []
    return main(["--state-dir", args.state_dir, *node, args.tool, *args.args])
