"""``lxc-manager demo`` as a subprocess on a free port: it starts, writes demo.json (0600) with working admin
credentials and the simulator's connection, has the three simulated nodes and the templates, and stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from live_server import free_port
from lxc_manager.pvesim.schema import ApiSchema, SchemaUnavailable

CLI = str(Path(sys.executable).with_name("lxc-manager"))


def test_demo_starts_registers_nodes_and_writes_credentials(tmp_path: Path) -> None:
    try:
        ApiSchema.load()
    except SchemaUnavailable as exc:
        pytest.skip(f"PVE API schema not available (../shared/pve-api): {exc}")
    data_dir = tmp_path / "data"
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("LXCM_")}
    env["LXCM_DATA_DIR"] = str(data_dir)
    process = subprocess.Popen(
        [CLI, "demo", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        demo_file = data_dir / "demo.json"
        deadline = time.monotonic() + 120
        while not demo_file.exists():
            assert process.poll() is None, f"demo exited early: {process.communicate()[1][-2000:]}"
            assert time.monotonic() < deadline, "demo.json did not appear within 120 s"
            time.sleep(0.2)
        assert stat.S_IMODE(demo_file.stat().st_mode) == 0o600
        demo = json.loads(demo_file.read_text())
        assert demo["url"] == f"http://127.0.0.1:{port}" and demo["nodes"] == ["demo-pve1", "demo-pve2", "demo-pve3"]
        assert demo["simulator"]["nodes"] == ["pve1", "pve2", "pve3"] and demo["simulator"]["fingerprint"]
        assert Path(demo["data_dir"]) == data_dir.resolve()

        with httpx.Client(base_url=demo["url"], timeout=30) as http:
            login = http.post("/api/v1/auth/login", json=demo["admin"])
            assert login.status_code == 200, login.text
            nodes = http.get("/api/v1/nodes").json()
            assert sorted(n["name"] for n in nodes) == demo["nodes"]
            assert all(n["tls_mode"] == "fingerprint" for n in nodes)
            templates = http.get("/api/v1/templates").json()
            assert "minimal" in {t["name"] for t in templates["items"]}
            bridges = http.get(f"/api/v1/nodes/{nodes[0]['id']}/bridges")  # the node answers through the pin
            assert bridges.status_code == 200 and [b["iface"] for b in bridges.json()] == ["vmbr0", "vmbr1"]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
    assert process.returncode == 0, err[-2000:]
    assert demo["url"] in out and demo["admin"]["password"] in out  # printed for the newcomer
