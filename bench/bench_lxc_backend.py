"""Timings of the simulator's real ``lxc`` backend (root; builds/uses the cached rootfs).

    .venv/bin/python bench/bench_lxc_backend.py [--cold] [--rounds N]

Measures: rootfs tarball (cached lookup, or a cold rebuild with --cold), per-CT create (privileged overlay vs
unprivileged extracted rootfs), start, boot→IPv4 (DHCP vs static), ``apt-get install tree`` through the mirror,
stop and destroy. Prints a table of medians.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from lxc_manager.pvesim.backends.lxc import LxcContainerBackend

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


def build_rootfs(cold: bool) -> tuple[Path, float]:
    started = time.perf_counter()
    argv = [str(ROOT / "scripts/build-lxc-rootfs.sh"), *(["--force"] if cold else [])]
    proc = subprocess.run(argv, capture_output=True, text=True, check=True)
    return Path(proc.stdout.strip().splitlines()[-1]), time.perf_counter() - started


async def one_round(backend: LxcContainerBackend, vmid: int, kind: str, figures: dict[str, list[float]]) -> None:
    unprivileged = kind.startswith("unprivileged")
    net = f"name=eth0,bridge=vmbr0,ip=10.0.3.{vmid % 200 + 20}/24,gw=10.0.3.1" if "static" in kind else "ip=dhcp"
    params = {"unprivileged": "1" if unprivileged else "0", "net0": net}
    t0 = time.perf_counter()
    await backend.create(vmid, TEMPLATE, f"bench{vmid}", None, params)
    t1 = time.perf_counter()
    await backend.start(vmid)
    t2 = time.perf_counter()
    await backend.wait_for_ipv4(vmid, within=60)
    t3 = time.perf_counter()
    figures[f"{kind}: create"].append(t1 - t0)
    figures[f"{kind}: start (lxc-start)"].append(t2 - t1)
    figures[f"{kind}: start → IPv4"].append(t3 - t2)
    if kind == "privileged dhcp":
        apt = "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tree"
        result = await backend.run(vmid, ["sh", "-c", apt], time_limit=300)
        assert result.exit_code == 0, result.stderr
        figures["apt-get update + install tree"].append(time.perf_counter() - t3)
    t4 = time.perf_counter()
    await backend.stop(vmid)
    t5 = time.perf_counter()
    await backend.destroy(vmid)
    figures[f"{kind}: stop (-k)"].append(t5 - t4)
    figures[f"{kind}: destroy"].append(time.perf_counter() - t5)


async def measure(state_dir: Path, tarball: Path, rounds: int, figures: dict[str, list[float]]) -> None:
    backend = LxcContainerBackend(state_dir, rootfs_tarball=tarball)
    t0 = time.perf_counter()
    await backend.prepare()
    figures["prepare (bridge + extract shared base, first run)"].append(time.perf_counter() - t0)
    try:
        for round_no in range(rounds):
            for offset, kind in enumerate(("privileged dhcp", "privileged static", "unprivileged static")):
                await one_round(backend, 9500 + round_no * 10 + offset, kind, figures)
    finally:
        await backend.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="rebuild the rootfs tarball (about a minute)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    figures: dict[str, list[float]] = defaultdict(list)
    tarball, build_seconds = build_rootfs(args.cold)
    figures["rootfs tarball (" + ("cold build" if args.cold else "cached") + ")"].append(build_seconds)
    state_dir = Path(tempfile.mkdtemp(prefix="lxcm-bench-", dir="/var/tmp"))
    state_dir.chmod(0o711)  # an unprivileged CT's root (host uid 100000) must reach its rootfs
    try:
        asyncio.run(measure(state_dir, tarball, args.rounds, figures))
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    width = max(len(name) for name in figures)
    sys.stdout.write(f"{'step':<{width}}  {'median s':>9}  {'min s':>7}  {'max s':>7}  n\n")
    for name, values in figures.items():
        median, low, high = statistics.median(values), min(values), max(values)
        sys.stdout.write(f"{name:<{width}}  {median:>9.3f}  {low:>7.3f}  {high:>7.3f}  {len(values)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
