"""End to end on real LXC: ``POST /api/v1/deployments`` of ``minimal`` runs the whole pipeline (in-process job)
against ``lxc-manager pve-sim --backend lxc`` — a real Debian 12 container, real ``apt-get`` from the mirror, a
real systemd service that this host reaches over ``lxcbr0``.

Needs root, LXC and the cached rootfs (``scripts/build-lxc-rootfs.sh``): skipped with the reason outside CI,
mandatory under CI=true. Runs in ``make e2e-lxc`` (``make test-python`` leaves ``tests/e2e`` out).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncssh
import httpx
import pytest
from fastapi import FastAPI

import lxc_manager.deployments.tasks  # noqa: F401 - registers run_deployment for the in-process queue
from helpers import bearer, create_token, create_user, new_client
from lxc_manager.core.logging import get_logger
from lxc_manager.models import PHASES
from pvesim.lxc_support import prepare_lxc_host, searchable_state_dir
from simnodes import register_nodes

pytestmark = [pytest.mark.lxc, pytest.mark.slow]
log = get_logger(__name__)

CLI = str(Path(sys.executable).with_name("lxc-manager"))
DEPLOY_WITHIN_S = 300.0
GREETING = "Hello from the real-LXC pipeline"
TERMINAL = {"succeeded", "failed", "cancelled"}


@pytest.fixture
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Poll the PVE tasks, the CT's address and the service checks more often than the production defaults."""
    for name, value in {"TASK_POLL_S": "0.1", "IP_POLL_S": "0.2", "VERIFY_INTERVAL_S": "0.5"}.items():
        monkeypatch.setenv(f"LXCM_DEPLOY_{name}", value)


def _remove_leftover_containers(state_dir: Path) -> None:
    """Only when the simulator had to be killed: its at-exit hook did not stop and remove the CTs."""
    lxcpath = state_dir / "lxc"
    for ct in lxcpath.iterdir() if lxcpath.is_dir() else ():
        subprocess.run(["lxc-stop", "-P", str(lxcpath), "-n", ct.name, "-k"], capture_output=True, check=False)
        subprocess.run(["umount", "-l", str(ct / "rootfs")], capture_output=True, check=False)


@pytest.fixture
async def lxc_simulator() -> AsyncIterator[dict[str, Any]]:
    """``lxc-manager pve-sim --backend lxc`` as a subprocess (1 node); yields its connection.json."""
    await asyncio.to_thread(prepare_lxc_host)  # skips (or fails under CI=true) without root/LXC/rootfs
    state_dir = searchable_state_dir("lxcm-e2e-deploy-")
    log_file = (state_dir / "pve-sim.log").open("wb")
    argv = [CLI, "pve-sim", "--backend", "lxc", "--state-dir", str(state_dir), "--port", "0", "--nodes", "1",
            "--task-duration", "0.05", "--auth-delay", "0"]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=log_file, stderr=asyncio.subprocess.STDOUT, start_new_session=True
    )
    try:
        connection = state_dir / "connection.json"
        deadline = time.monotonic() + 60
        while not connection.exists():
            if process.returncode is not None or time.monotonic() > deadline:
                pytest.fail(f"pve-sim --backend lxc did not start:\n{(state_dir / 'pve-sim.log').read_text()}")
            await asyncio.sleep(0.1)
        yield json.loads(connection.read_text())
    finally:
        # SIGTERM: the simulator stops and removes its containers on exit.
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 60)
        except TimeoutError:
            process.kill()
            await asyncio.wait_for(process.wait(), 10)
            await asyncio.to_thread(_remove_leftover_containers, state_dir)
        log_file.close()
        shutil.rmtree(state_dir, ignore_errors=True)


async def _wait_terminal(http: httpx.AsyncClient, deployment_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + DEPLOY_WITHIN_S
    while True:
        response = await http.get(f"/api/v1/deployments/{deployment_id}", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in TERMINAL:
            return body
        assert time.monotonic() < deadline, f"deployment still {body['status']} after {DEPLOY_WITHIN_S:.0f} s"
        await asyncio.sleep(0.5)


async def _history(http: httpx.AsyncClient, deployment_id: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while True:
        after = events[-1]["seq"] if events else 0
        url = f"/api/v1/deployments/{deployment_id}/events/history?after_seq={after}&limit=1000"
        response = await http.get(url, headers=headers)
        assert response.status_code == 200, response.text
        page: list[dict[str, Any]] = response.json()["items"]
        if not page:
            return events
        events.extend(page)


async def _sse_replay(http: httpx.AsyncClient, deployment_id: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The SSE stream of a finished deployment: every event from seq 1, then the server ends the stream."""
    stream_headers = {**headers, "Accept": "text/event-stream"}
    received: list[dict[str, Any]] = []
    async with http.stream("GET", f"/api/v1/deployments/{deployment_id}/events", headers=stream_headers) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                received.append(json.loads(line[5:].strip()))
    return received


async def _in_container(connection: dict[str, Any], vmid: int, *argv: str) -> asyncssh.SSHCompletedProcess:
    """``pct exec`` over the simulator's SSH, as a PVE node would run it."""
    ssh = connection["ssh"]
    node = ssh["nodes"][connection["nodes"][0]]
    known = asyncssh.import_known_hosts(f"[{node['host']}]:{node['port']} {ssh['host_public_key'].strip()}")
    async with asyncssh.connect(
        node["host"], node["port"], username=ssh["user"], client_keys=[ssh["private_key_path"]], known_hosts=known
    ) as conn:
        command = " ".join(["pct", "exec", str(vmid), "--", *(f"'{arg}'" for arg in argv)])
        return await conn.run(command, check=False)


@pytest.mark.timeout(DEPLOY_WITHIN_S + 180)
async def test_minimal_deploys_into_a_real_container(
    app: FastAPI, lxc_simulator: dict[str, Any], quick_polls: None
) -> None:
    admin_id = await create_user(app, "root", role="admin")
    admin = bearer(await create_token(app, admin_id))
    async with new_client(app) as http:
        nodes = await register_nodes(http, lxc_simulator, admin)
        started = time.monotonic()
        created = await http.post(
            "/api/v1/deployments",
            json={"template": "minimal", "node_id": nodes[lxc_simulator["nodes"][0]], "hostname": "e2e-minimal",
                  "inputs": {"greeting": GREETING}},
            headers=admin,
        )  # fmt: skip
        assert created.status_code == 201, created.text
        deployment_id = created.json()["id"]
        deployment = await _wait_terminal(http, deployment_id, admin)
        elapsed = time.monotonic() - started
        log.info("e2e_lxc_deploy_minimal", seconds=round(elapsed, 1), status=deployment["status"])
        sys.stderr.write(f"\nreal-LXC deploy of minimal through the API (POST → succeeded): {elapsed:.1f} s\n")
        events = await _history(http, deployment_id, admin)
        failure = [f"{e['type']} {e.get('phase')} {e.get('status')}: {e.get('message')}" for e in events[-25:]]
        assert deployment["status"] == "succeeded", "\n".join(failure)
        assert [(p["name"], p["status"]) for p in deployment["phases"]] == [(p.value, "succeeded") for p in PHASES]

        listed = await http.get("/api/v1/containers", headers=admin)
        assert listed.status_code == 200, listed.text
        (container,) = listed.json()
        replayed = await asyncio.wait_for(_sse_replay(http, deployment_id, admin), 60)

    # The container record: its real address on lxcbr0 and the web UI link of the `web` service.
    ip, vmid = container["ip_address"], container["vmid"]
    assert container["deployment_id"] == deployment_id and container["status"] == "running"
    assert ip and ip.startswith("10.0.3."), ip
    assert [link["url"] for link in container["links"]] == [f"http://{ip}:8080/"]
    assert [link["url"] for link in deployment["links"]] == [f"http://{ip}:8080/"]

    # The real service, from this host through the bridge.
    async with httpx.AsyncClient(timeout=10) as direct:
        page = await direct.get(f"http://{ip}:8080/")
    assert page.status_code == 200 and GREETING in page.text

    # Bucket `base` packages came from the mirror for real (curl is not in the rootfs tarball).
    installed = await _in_container(lxc_simulator, vmid, "dpkg-query", "-W", "-f", "${Status}", "curl")
    assert (installed.exit_status, installed.stdout) == (0, "install ok installed"), installed.stderr
    active = await _in_container(lxc_simulator, vmid, "systemctl", "is-active", "minimal-web.service")
    assert str(active.stdout).strip() == "active"

    # History and SSE agree, in order, and end with the result.
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] == "result" and events[-1]["status"] == "succeeded"
    assert [e["seq"] for e in replayed] == [e["seq"] for e in events]
    assert replayed[-1]["type"] == "result" and replayed[-1]["status"] == "succeeded"
    provision_log = [e["message"] for e in events if e["type"] == "log" and e.get("phase") == "provision"]
    assert any(line.startswith("Setting up curl") for line in provision_log)  # apt-get's own output, streamed
