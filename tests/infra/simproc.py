"""Run ``lxc-manager pve-sim`` as a real process for the engine tests (uniquely named module, like simkit.py).

The simulator writes ``connection.json`` and its host CLI shims (``bin/pct`` …) into the state dir; the tests put
that ``bin/`` first on PATH, so the bash engine talks to the simulator exactly as it would talk to a PVE node.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / ".venv" / "bin" / "lxc-manager"
DEPLOY = ROOT / "infra" / "lxc" / "deploy.sh"
SCHEMA = Path(os.environ.get("LXCM_PVE_SCHEMA", ROOT.parent / "shared" / "pve-api" / "apidata.json"))


@dataclass
class RunningSim:
    state_dir: Path
    connection: dict[str, Any]
    process: subprocess.Popen[bytes]

    @property
    def bin_dir(self) -> Path:
        return Path(self.connection["cli_dir"])

    def env(self, **extra: str) -> dict[str, str]:
        """An environment whose PATH starts with the simulator's pct/pvesh/pveam/pvesm."""
        return {**os.environ, "PATH": f"{self.bin_dir}:/usr/sbin:/usr/bin:/sbin:/bin", "LXC_PYTHON": "/usr/bin/python3",
                **extra}  # fmt: skip

    def run(self, *argv: str | Path, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(a) for a in argv], env=self.env(**extra), capture_output=True, text=True,
                              timeout=600, check=False)  # fmt: skip

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The simulator's /_sim control API (fault injection, state); its self-signed CA is trusted explicitly."""
        conn = self.connection
        headers = {"Authorization": f"Bearer {conn['control_token']}"}
        with httpx.Client(verify=conn["ca_path"], timeout=30) as client:
            response = client.request(method, conn["control_url"] + path, json=body, headers=headers)
        response.raise_for_status()
        return response.json() if response.content else None


@contextmanager
def running_simulator(state_dir: Path, backend: str = "memory", nodes: int = 2) -> Iterator[RunningSim]:
    """Start the simulator on free ports, wait for its connection.json, stop it (SIGTERM) afterwards."""
    connection_file = state_dir / "connection.json"
    connection_file.unlink(missing_ok=True)
    log = (state_dir / "pve-sim.log").open("wb")
    argv = [str(CLI), "pve-sim", "--backend", backend, "--state-dir", str(state_dir), "--port", "0",
            "--nodes", str(nodes), "--task-duration", "0.05", "--auth-delay", "0", "--schema", str(SCHEMA)]  # fmt: skip
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not connection_file.exists():
            if process.poll() is not None:
                output = (state_dir / "pve-sim.log").read_text()
                raise RuntimeError(f"pve-sim exited with {process.returncode}: {output}")
            if time.monotonic() > deadline:
                raise RuntimeError("pve-sim did not write connection.json within 120 s")
            time.sleep(0.1)
        yield RunningSim(state_dir, json.loads(connection_file.read_text()), process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def events(stdout: str) -> list[dict[str, Any]]:
    """The JSON-lines progress events of ``deploy.sh --json``."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def phase_trail(stdout: str) -> list[tuple[str, str]]:
    return [(e["phase"], e["status"]) for e in events(stdout) if e["type"] == "phase"]
