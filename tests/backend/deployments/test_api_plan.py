"""POST /api/v1/deployments/plan against the simulator: the exact plan, no side effects, 4xx on the right fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncssh
import pytest
from fastapi import FastAPI

from helpers import bearer, create_token, create_user, new_client
from lxc_manager.integrations.proxmox import ProxmoxClient, TLSConfig
from lxc_manager.integrations.proxmox.session import ProxmoxSession
from simnodes import register_nodes, running_simulator, sim_control

ROOT_PASSWORD = "root-pass-5678"
ADMIN_INPUT = "input-secret-1234"


DEBIAN_12 = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


def sim_client(sim: dict[str, Any]) -> ProxmoxClient:
    tls = TLSConfig(mode="fingerprint", fingerprint_sha256=sim["fingerprint"])
    return ProxmoxClient(sim["url"], sim["token_id"], sim["token_secret"], tls=tls)


def ssh_key() -> str:
    return asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()


def full_request(node_id: str, key: str) -> dict[str, Any]:
    return {
        "template": "minimal",
        "node_id": node_id,
        "hostname": "Web-01",
        "cores": 2,
        "memory": 1024,
        "rootfs_size": 8,
        "features": {"keyctl": True},
        "network": {"vlan": 20, "ip": "10.10.0.50/24", "gateway": "10.10.0.1", "firewall": True},
        "dns": {"servers": ["1.1.1.1"], "search_domain": "lab.example"},
        "ssh_public_keys": [key],
        "root_password": ROOT_PASSWORD,
        "tags": ["web", "demo"],
        "start_on_boot": True,
        "inputs": {"greeting": "hi there", "admin_password": ADMIN_INPUT},
        "on_failure": "destroy",
    }


@pytest.fixture
def pve_requests(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every (method, path) the app's Proxmox clients send."""
    sent: list[tuple[str, str]] = []
    original = ProxmoxSession.request

    async def recording(self: ProxmoxSession, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        sent.append((method, path))
        return await original(self, method, path, *args, **kwargs)

    monkeypatch.setattr(ProxmoxSession, "request", recording)
    return sent


async def test_plan_is_exact_and_has_no_side_effects(
    app: FastAPI, tmp_path: Path, pve_requests: list[tuple[str, str]]
) -> None:
    admin = bearer(await create_token(app, await create_user(app, "root", role="admin")))
    key = ssh_key()
    async with running_simulator(tmp_path / "sim") as sim, new_client(app) as http:
        nodes = await register_nodes(http, sim, admin)
        pve_requests.clear()
        response = await http.post("/api/v1/deployments/plan", json=full_request(nodes["pve1"], key), headers=admin)
        assert response.status_code == 200, response.text
        plan = response.json()
        state = await sim_control(sim, "GET", "/state")
    assert pve_requests and all(method == "GET" for method, _ in pve_requests), pve_requests
    assert state["guests"] == {} and state["tasks"] == []  # nothing was created or started
    assert ROOT_PASSWORD not in response.text and ADMIN_INPUT not in response.text

    assert plan["pve_params"] == {
        "ostemplate": DEBIAN_12,
        "hostname": "web-01",
        "cores": 2,
        "memory": 1024,
        "swap": 256,
        "rootfs": "local-lvm:8",
        "unprivileged": 1,
        "onboot": 1,
        "features": "nesting=1,keyctl=1",
        "net0": "name=eth0,bridge=vmbr0,ip=10.10.0.50/24,gw=10.10.0.1,ip6=auto,tag=20,firewall=1",
        "nameserver": "1.1.1.1",
        "searchdomain": "lab.example",
        "tags": "web;demo",
        "ssh-public-keys": key,
        "password": "********",
    }
    assert plan["node"] == {"id": nodes["pve1"], "name": "sim-pve1", "pve_node": "pve1"}
    assert plan["template"]["name"] == "minimal" and len(plan["template"]["content_hash"]) == 64
    assert plan["vmid"] is None and plan["suggested_vmid"] >= 100
    assert plan["rootfs_storage"] == "local-lvm" and plan["on_failure"] == "destroy"
    assert plan["inputs"] == {"greeting": "hi there", "admin_password": "********"}
    assert plan["secret_inputs"] == ["admin_password"]
    assert [f["destination"] for f in plan["files"]] == [
        "/srv/www/index.html.in",
        "/etc/systemd/system/minimal-web.service",
    ]
    assert all(len(f["sha256"]) == 64 and f["size"] > 0 for f in plan["files"])
    packages = {p["name"]: p["sources"] for p in plan["packages"]}
    assert packages["python3"] == ["extra"] and packages["curl"] == ["base"]
    assert [p["sources"][0] for p in plan["packages"]][-1] == "extra"  # buckets first, then extras
    assert [s["name"] for s in plan["scripts"]] == ["10-web.sh"]
    assert [(h["event"], h["target"], h["name"]) for h in plan["hooks"]] == [
        ("post-start", "container", "wait-network.sh")
    ]
    steps = [(s["phase"], s["kind"], s["name"]) for s in plan["steps"]]
    assert steps == [
        ("create", "create", "create container"),
        ("start", "start", "start and wait for the network"),
        ("start", "hook", "post-start/wait-network.sh"),
        ("provision", "files", "push 2 file(s)"),
        ("provision", "packages", f"install {len(plan['packages'])} package(s)"),
        ("provision", "script", "10-web.sh"),
        ("verify", "verify", "verify services"),
        ("finalize", "credentials", "capture credentials, record"),
    ]
    assert plan["services"][0]["unit"] == "minimal-web.service" and plan["credentials"] == ["admin_password"]


async def test_template_defaults_without_overrides(app: FastAPI, tmp_path: Path) -> None:
    admin = bearer(await create_token(app, await create_user(app, "root", role="admin")))
    async with running_simulator(tmp_path / "sim") as sim, new_client(app) as http:
        nodes = await register_nodes(http, sim, admin)
        body = {"template": "minimal", "node_id": nodes["pve2"], "vmid": 4242}
        plan = (await http.post("/api/v1/deployments/plan", json=body, headers=admin)).json()
    assert plan["vmid"] == 4242 and plan["pve_params"]["vmid"] == 4242
    assert plan["pve_params"]["net0"] == "name=eth0,bridge=vmbr0,ip=dhcp,ip6=auto"
    assert plan["pve_params"]["hostname"] == "minimal" and plan["pve_params"]["rootfs"] == "local-lvm:4"
    assert "password" not in plan["pve_params"] and "tags" not in plan["pve_params"]
    assert plan["inputs"]["greeting"] == "Hello from LXC Template Manager"
    assert plan["inputs"]["admin_password"] == "********"  # generated, never shown


def _locs(response: Any) -> list[list[Any]]:
    assert response.status_code == 422, response.text
    return [field["loc"] for field in response.json()["fields"]]


async def test_validation_errors_name_the_field(app: FastAPI, tmp_path: Path) -> None:
    admin = bearer(await create_token(app, await create_user(app, "root", role="admin")))
    operator = bearer(await create_token(app, await create_user(app, "op", role="operator")))
    viewer = bearer(await create_token(app, await create_user(app, "viewer", role="viewer")))
    async with running_simulator(tmp_path / "sim") as sim, new_client(app) as http:
        nodes = await register_nodes(http, sim, admin)
        async with sim_client(sim) as pve:
            params = {"vmid": 150, "ostemplate": DEBIAN_12, "rootfs": "local-lvm:1", "hostname": "taken"}
            await pve.wait_task(await pve.lxc_create("pve1", params), poll_interval=0.02)
        base = {"template": "minimal", "node_id": nodes["pve1"]}

        async def plan(headers: dict[str, str] = admin, **extra: Any) -> Any:
            return await http.post("/api/v1/deployments/plan", json={**base, **extra}, headers=headers)

        assert _locs(await plan(rootfs_storage="nope")) == [["body", "rootfs_storage"]]
        local = await plan(rootfs_storage="local")
        assert _locs(local) == [["body", "rootfs_storage"]] and "rootdir" in local.json()["detail"]
        assert _locs(await plan(network={"bridge": "vmbr9"})) == [["body", "network", "bridge"]]
        assert _locs(await plan(vmid=150)) == [["body", "vmid"]]
        assert _locs(await plan(hostname="bad_host")) == [["body", "hostname"]]
        assert _locs(await plan(hostname="-x")) == [["body", "hostname"]]
        assert _locs(await plan(ssh_public_keys=["ssh-ed25519 AAAAnotakey"])) == [["body", "ssh_public_keys", 0]]
        assert _locs(await plan(network={"gateway": "10.10.0.1"})) == [["body", "network"]]  # dhcp + gateway
        assert _locs(await plan(network={"ip": "10.10.0.5"})) == [["body", "network", "ip"]]  # no prefix
        assert _locs(await plan(inputs={"nope": 1})) == [["body", "inputs", "nope"]]
        short = await plan(inputs={"admin_password": "tiny-secret"})
        assert _locs(short) == [["body", "inputs", "admin_password"]] and "tiny-secret" not in short.text
        assert _locs(await plan(root_password="abc")) == [["body", "root_password"]]
        assert _locs(await plan(tags=["Bad Tag"])) == [["body", "tags", 0]]
        assert _locs(await plan(ostemplate="local:vztmpl/debian-11-standard_11.7-1_amd64.tar.zst")) == [
            ["body", "ostemplate"]
        ]
        several = _locs(await plan(rootfs_storage="nope", network={"bridge": "vmbr9"}, inputs={"x": 1}))
        assert several == [["body", "rootfs_storage"], ["body", "network", "bridge"], ["body", "inputs", "x"]]
        assert (await plan(template="no-such-template")).status_code == 404
        assert (await plan(template_revision=99)).status_code == 404
        assert (await plan(headers=operator)).status_code == 404  # the node is not granted to them
        assert (await plan(headers=viewer)).status_code == 403  # planning is for those who may deploy

        # The template's OS is missing on the node: named, with the file to download.
        async with sim_client(sim) as pve:
            upid = await pve.request("DELETE", f"/nodes/pve2/storage/local/content/{DEBIAN_12}")
            await pve.wait_task(upid, timeout=10, poll_interval=0.01)  # the removal is a task (20 ms here)
        missing = await plan(node_id=nodes["pve2"])
        assert _locs(missing) == [["body", "ostemplate"]] and "download" in missing.json()["detail"]

        await sim_control(sim, "POST", "/faults", json={"kind": "node_offline", "node": "pve3", "status": 595})
        offline = await plan(node_id=nodes["pve3"])
        assert offline.status_code == 503 and offline.json()["error"] == "node_offline"
