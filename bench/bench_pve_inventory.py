"""Inventory benchmark: our async client vs. a sequential proxmoxer script against the PVE simulator over HTTPS.

    .venv/bin/python bench/bench_pve_inventory.py [--nodes 8] [--containers 1000] [--latency 0.02]

The simulator (``lxc-manager pve-sim``, memory backend) runs as its own process on 127.0.0.1 over HTTPS; every
API request gets ``--latency`` seconds of injected delay (the simulator's ``latency`` fault). Both sides read the
same inventory: every node, every container on it and each container's ``status/current``.

* proxmoxer: ``GET /nodes`` → per node ``GET /nodes/{n}/lxc`` → per CT ``GET .../status/current``, sequentially
  (how scripts written with it usually look).
* ours, A: one ``GET /cluster/resources`` (PVE's cluster-wide listing: one request for everything).
* ours, B: the same per-CT reads as proxmoxer, concurrently, one client per node (max_concurrency=4 each).

Prints wall time, requests sent and the speed-up of each of ours over proxmoxer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from proxmoxer import ProxmoxAPI

from lxc_manager.core.logging import configure_logging
from lxc_manager.integrations.proxmox import ProxmoxClient, TLSConfig

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


def start_simulator(nodes: int, state_dir: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """``lxc-manager pve-sim`` in its own process (so its CPU does not share our GIL); reads connection.json."""
    argv = [str(ROOT / ".venv/bin/lxc-manager"), "pve-sim", "--nodes", str(nodes), "--host", "127.0.0.1",
            "--port", "0", "--ssh-port", "0", "--state-dir", str(state_dir), "--task-duration", "0",
            "--auth-delay", "0"]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    connection = state_dir / "connection.json"
    deadline = time.monotonic() + 60
    while not connection.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the simulator did not start")
        time.sleep(0.1)
    data = json.loads(connection.read_text())
    info = {"url": data["url"], "port": int(data["url"].rsplit(":", 1)[1]), "ca": data["ca_path"],
            "token_id": data["token_id"], "token_secret": data["token_secret"], "nodes": data["nodes"],
            "control_url": data["control_url"], "control_token": data["control_token"]}  # fmt: skip
    return proc, info


def add_latency(info: dict[str, Any], seconds: float) -> None:
    headers = {"Authorization": f"Bearer {info['control_token']}"}
    with httpx.Client(verify=ssl.create_default_context(cafile=info["ca"])) as http:
        response = http.post(
            f"{info['control_url']}/faults", json={"kind": "latency", "seconds": seconds}, headers=headers
        )
        response.raise_for_status()


def client_for(info: dict[str, Any], concurrency: int = 4) -> ProxmoxClient:
    tls = TLSConfig(mode="ca_bundle", ca_bundle_pem=Path(info["ca"]).read_text())
    return ProxmoxClient(info["url"], info["token_id"], info["token_secret"], tls=tls, max_concurrency=concurrency)


async def populate(info: dict[str, Any], nodes: list[str], containers: int) -> None:
    async with client_for(info, concurrency=16) as pve:

        async def create(index: int) -> None:
            node = nodes[index % len(nodes)]
            params = {"vmid": 1000 + index, "ostemplate": TEMPLATE, "hostname": f"ct{index}", "rootfs": "local-lvm:1"}
            await pve.wait_task(await pve.lxc_create(node, params), timeout=120, poll_interval=0.05)

        await asyncio.gather(*(create(i) for i in range(containers)))


def proxmoxer_inventory(info: dict[str, Any]) -> tuple[int, int]:
    user, token = info["token_id"].split("!")
    api = ProxmoxAPI("127.0.0.1", port=info["port"], user=user, token_name=token,
                     token_value=info["token_secret"], verify_ssl=info["ca"], timeout=60)  # fmt: skip
    requests = 1
    found = 0
    for node in api.nodes.get():
        requests += 1
        for ct in api.nodes(node["node"]).lxc.get():
            api.nodes(node["node"]).lxc(ct["vmid"]).status.current.get()
            requests += 1
            found += 1
    return found, requests


async def ours_cluster_resources(info: dict[str, Any]) -> tuple[int, int]:
    async with client_for(info) as pve:
        resources = await pve.cluster_resources("vm")
    return sum(1 for r in resources if r.type == "lxc"), 1


async def ours_per_ct(info: dict[str, Any], nodes: list[str]) -> tuple[int, int]:
    clients = {node: client_for(info) for node in nodes}
    try:
        listed = await asyncio.gather(*(clients[n].lxc_list(n) for n in nodes))

        async def statuses(node: str, vmids: list[int]) -> None:
            await asyncio.gather(*(clients[node].lxc_status(node, vmid) for vmid in vmids))

        await asyncio.gather(*(statuses(n, [ct.vmid for ct in cts]) for n, cts in zip(nodes, listed, strict=True)))
    finally:
        for client in clients.values():
            await client.aclose()
    found = sum(len(cts) for cts in listed)
    return found, len(nodes) + found


def timed(label: str, func: Any) -> tuple[str, float, int, int]:
    started = time.perf_counter()
    found, requests = func()
    return label, time.perf_counter() - started, found, requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=8)
    parser.add_argument("--containers", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.02)
    args = parser.parse_args()
    configure_logging("WARNING", json=False)
    with tempfile.TemporaryDirectory(prefix="bench-pve-") as folder:
        proc, info = start_simulator(args.nodes, Path(folder))
        try:
            nodes = list(info["nodes"])
            started = time.perf_counter()
            asyncio.run(populate(info, nodes, args.containers))
            print(f"populated {args.containers} CTs on {len(nodes)} nodes in {time.perf_counter() - started:.1f} s")
            add_latency(info, args.latency)
            rows = [
                timed("proxmoxer, sequential per-CT reads", lambda: proxmoxer_inventory(info)),
                timed("ours A: one /cluster/resources", lambda: asyncio.run(ours_cluster_resources(info))),
                timed("ours B: same per-CT reads, concurrent", lambda: asyncio.run(ours_per_ct(info, nodes))),
            ]
        finally:
            proc.terminate()
            proc.wait(10)
    baseline = rows[0][1]
    print(f"\n{args.containers} CTs, {args.nodes} nodes, {args.latency * 1000:.0f} ms latency per request")
    print(f"{'run':42} {'seconds':>9} {'CTs':>6} {'requests':>9} {'speed-up':>9}")
    for label, seconds, found, requests in rows:
        print(f"{label:42} {seconds:9.2f} {found:6d} {requests:9d} {baseline / seconds:8.1f}x")


if __name__ == "__main__":
    main()
