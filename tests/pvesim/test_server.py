"""The real thing: ``lxc-manager pve-sim`` as a process, HTTPS with its own CA, connection.json, proxmoxer, SSH."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import httpx
import pytest
from proxmoxer import ProxmoxAPI, ResourceException
from proxmoxer.tools import Tasks

from lxc_manager.pvesim.schema import resolve_schema_path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not resolve_schema_path().exists():
        pytest.skip(f"PVE API schema not available at {resolve_schema_path()}, simulator tests skipped")
    state = tmp_path_factory.mktemp("pve-sim")
    command = [sys.executable, "-m", "lxc_manager.cli", "pve-sim", "--nodes", "2", "--port", "0", "--state-dir",
               str(state), "--auth-delay", "0", "--task-duration", "0.2", "--seed", "3"]  # fmt: skip
    log = (state / "sim.log").open("w")
    proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    connection = state / "connection.json"
    deadline = time.monotonic() + 30
    while not connection.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"simulator did not start: {(state / 'sim.log').read_text()}")
        time.sleep(0.05)
    try:
        yield json.loads(connection.read_text()) | {"state_dir": state}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_connection_file_and_tls(simulator: dict[str, Any]) -> None:
    assert oct(os.stat(simulator["state_dir"] / "connection.json").st_mode & 0o777) == "0o600"
    assert simulator["nodes"] == ["pve1", "pve2"] and simulator["token_id"] == "root@pam!lxcm"
    host, port = simulator["url"].removeprefix("https://").split(":")
    context = ssl.create_default_context(cafile=simulator["ca_path"])
    with context.wrap_socket(__import__("socket").create_connection((host, int(port))), server_hostname=host) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    fingerprint = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
    assert fingerprint == simulator["fingerprint"]
    headers = {"Authorization": f"PVEAPIToken={simulator['token_id']}={simulator['token_secret']}"}
    with httpx.Client(verify=context) as client:
        response = client.get(simulator["api_url"] + "/nodes", headers=headers)
        assert response.status_code == 200 and response.headers["server"] == "pve-api-daemon/3.0"
        anonymous = client.get(simulator["api_url"] + "/nodes")
        assert (anonymous.status_code, anonymous.reason_phrase, anonymous.content) == (401, "No ticket", b"")
        missing = client.get(simulator["api_url"] + "/nodes/pve1/lxc/999/config", headers=headers)
        assert missing.reason_phrase == "Configuration file 'nodes/pve1/lxc/999.conf' does not exist"
        bad = client.post(simulator["api_url"] + "/nodes/pve1/lxc", data={"vmid": "1"}, headers=headers)
        assert (bad.status_code, bad.reason_phrase) == (400, "Parameter verification failed.")
        assert response.json()["data"][0]["ssl_fingerprint"] == fingerprint
        restricted = simulator["restricted_token"]
        denied = client.post(
            simulator["api_url"] + "/nodes/pve1/lxc",
            data={"vmid": "150", "ostemplate": TEMPLATE},
            headers={"Authorization": f"PVEAPIToken={restricted['token_id']}={restricted['token_secret']}"},
        )
        assert denied.status_code == 403 and denied.json()["message"] == "Permission check failed\n"
        state = client.get(simulator["control_url"] + "/state",
                           headers={"Authorization": f"Bearer {simulator['control_token']}"})  # fmt: skip
        assert state.status_code == 200 and set(state.json()["nodes"]) == {"pve1", "pve2"}


def _proxmoxer_scenario(sim: dict[str, Any]) -> dict[str, Any]:
    host, port = sim["url"].removeprefix("https://").split(":")
    user, token_name = sim["token_id"].split("!")
    prox = ProxmoxAPI(host, port=int(port), user=user, token_name=token_name, token_value=sim["token_secret"],
                      verify_ssl=sim["ca_path"], timeout=10)  # fmt: skip
    seen: dict[str, Any] = {"nodes": [n["node"] for n in prox.nodes.get()]}
    vmid = int(prox.cluster.nextid.get())
    node = prox.nodes("pve2")
    upid = node.lxc.post(vmid=vmid, ostemplate=TEMPLATE, hostname="proxmoxer", rootfs="local-lvm:4",
                         net0="name=eth0,bridge=vmbr0,ip=dhcp", unprivileged=1, memory=256)  # fmt: skip
    seen["create"] = Tasks.blocking_status(prox, upid, timeout=30, polling_interval=0.1)
    seen["start"] = Tasks.blocking_status(prox, node.lxc(vmid).status.start.post(), 30, 0.1)
    seen["status"] = node.lxc(vmid).status.current.get()
    seen["interfaces"] = node.lxc(vmid).interfaces.get()
    seen["stop"] = Tasks.blocking_status(prox, node.lxc(vmid).status.stop.post(), 30, 0.1)
    seen["delete"] = Tasks.blocking_status(prox, node.lxc(vmid).delete(), 30, 0.1)
    seen["log"] = Tasks.decode_log(node.tasks(seen["delete"]["upid"]).log.get())
    try:
        node.lxc(vmid).status.current.get()
    except ResourceException as exc:
        seen["missing"] = (exc.status_code, exc.errors, str(exc))
    try:
        node.lxc.post(vmid=vmid, ostemplate=TEMPLATE, unprivileged=True)  # proxmoxer sends Python True as "True"
    except ResourceException as exc:
        seen["bool"] = (exc.status_code, exc.errors)
    return seen


async def test_proxmoxer_scenario(simulator: dict[str, Any]) -> None:
    seen = await asyncio.to_thread(_proxmoxer_scenario, simulator)
    assert seen["nodes"] == ["pve1", "pve2"]
    for step in ("create", "start", "stop", "delete"):
        assert seen[step]["status"] == "stopped" and seen[step]["exitstatus"] == "OK", (step, seen[step])
    assert seen["create"]["type"] == "vzcreate" and seen["create"]["tokenid"] == "lxcm"
    assert seen["status"]["status"] == "running" and seen["status"]["name"] == "proxmoxer"
    assert any("inet" in i for i in seen["interfaces"] if i["name"] == "eth0")
    assert seen["log"].endswith("TASK OK")
    assert seen["missing"][0] == 500  # and PVE's message as the reason phrase, which proxmoxer shows:
    assert seen["missing"][2].endswith(
        f"Configuration file 'nodes/pve2/lxc/{seen['status']['vmid']}.conf' does not exist"
    )
    assert seen["bool"] == (400, {"unprivileged": "type check ('boolean') failed - got 'True'"})


async def test_ssh_from_connection_file(simulator: dict[str, Any]) -> None:
    ssh = simulator["ssh"]
    port = ssh["nodes"]["pve1"]["port"]
    known = asyncssh.import_known_hosts(f"[{ssh['host']}]:{port} {ssh['host_public_key']}")
    async with asyncssh.connect(ssh["host"], port, username=ssh["user"], client_keys=[ssh["private_key_path"]],
                                known_hosts=known) as conn:  # fmt: skip
        result = await conn.run("pct list")
    assert result.exit_status == 0 and str(result.stdout).startswith("VMID")


def test_missing_schema_refuses_to_start(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "lxc_manager.cli", "pve-sim", "--port", "0", "--state-dir", str(tmp_path),
               "--schema", str(tmp_path / "missing.json")]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "PVE API schema not found" in done.stderr and not (tmp_path / "connection.json").exists()


def _proxmoxer_ticket_scenario(sim: dict[str, Any]) -> tuple[list[str], str]:
    host, port = sim["url"].removeprefix("https://").split(":")
    prox = ProxmoxAPI(host, port=int(port), user=sim["login"]["username"], password=sim["login"]["password"],
                      verify_ssl=sim["ca_path"], timeout=10)  # fmt: skip
    nodes = [n["node"] for n in prox.nodes.get()]
    upid = prox.nodes("pve1").aplinfo.post(storage="local", template="alpine-3.22-default_20250617_amd64.tar.xz")
    return nodes, Tasks.blocking_status(prox, upid, 30, 0.1)["exitstatus"]


async def test_proxmoxer_with_ticket_auth(simulator: dict[str, Any]) -> None:
    nodes, exitstatus = await asyncio.to_thread(_proxmoxer_ticket_scenario, simulator)
    assert nodes == ["pve1", "pve2"] and exitstatus == "OK"  # the POST needed the CSRF token proxmoxer sends
