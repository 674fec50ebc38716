"""Wizard endpoints against the PVE simulator (real HTTPS on 127.0.0.1, memory backend, three nodes)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from helpers import bearer, create_token, create_user, new_client
from simnodes import register_nodes, running_simulator, sim_control

NODE_ROUTES = ("storages", "bridges", "os-templates", "next-vmid")


async def _admin(app: FastAPI) -> dict[str, str]:
    admin_id = await create_user(app, "root", role="admin")
    return bearer(await create_token(app, admin_id))


async def test_wizard_lists_what_the_node_offers(app: FastAPI, tmp_path: Path) -> None:
    admin = await _admin(app)
    async with running_simulator(tmp_path / "sim") as sim, new_client(app) as http:
        nodes = await register_nodes(http, sim, admin)
        base = f"/api/v1/nodes/{nodes['pve2']}"

        storages = (await http.get(f"{base}/storages", headers=admin)).json()
        assert [s["storage"] for s in storages] == ["local-lvm"]  # the only one with rootdir content
        lvm = storages[0]
        assert lvm["supports_containers"] and not lvm["supports_templates"]
        assert lvm["total"] == 400 * 1024**3 and lvm["used"] + lvm["avail"] == lvm["total"]
        template_stores = (await http.get(f"{base}/storages", params={"content": "vztmpl"}, headers=admin)).json()
        assert [s["storage"] for s in template_stores] == ["local"]
        bad = await http.get(f"{base}/storages", params={"content": "images"}, headers=admin)
        assert bad.status_code == 422

        bridges = (await http.get(f"{base}/bridges", headers=admin)).json()
        assert [b["iface"] for b in bridges] == ["vmbr0", "vmbr1"]

        templates = (await http.get(f"{base}/os-templates", headers=admin)).json()
        volids = [t["volid"] for t in templates["on_storage"]]
        assert "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" in volids
        assert all(t["storage"] == "local" and t["size"] > 0 for t in templates["on_storage"])
        assert templates["downloadable"] and all(d["template"] for d in templates["downloadable"])

        vmid = (await http.get(f"{base}/next-vmid", headers=admin)).json()["vmid"]
        assert vmid >= 100

        defaults = (await http.get("/api/v1/templates/minimal/deploy-defaults", headers=admin)).json()
        assert defaults["os_template"] == "debian-12-standard" and defaults["hostname"] == "minimal"
        assert defaults["container"]["memory"] == 512 and defaults["container"]["network"]["bridge"] == "vmbr0"
        inputs = {i["name"]: i for i in defaults["inputs"]}
        assert inputs["greeting"]["default"] == "Hello from LXC Template Manager"
        assert inputs["admin_password"]["secret"] is True and inputs["admin_password"]["generate"] is True
        assert (await http.get("/api/v1/templates/nope/deploy-defaults", headers=admin)).status_code == 404


async def _wait_task(http: Any, url: str, headers: dict[str, str]) -> dict[str, Any]:
    for _ in range(300):
        task = (await http.get(url, headers=headers)).json()
        if task["status"] == "stopped":
            return task  # type: ignore[no-any-return]
        await asyncio.sleep(0.02)
    raise AssertionError(f"task at {url} did not finish")


async def test_os_template_download_is_a_tracked_task(app: FastAPI, tmp_path: Path) -> None:
    admin = await _admin(app)
    viewer_id = await create_user(app, "viewer", role="viewer")
    viewer = bearer(await create_token(app, viewer_id))
    async with running_simulator(tmp_path / "sim") as sim, new_client(app) as http:
        nodes = await register_nodes(http, sim, admin)
        await http.post(f"/api/v1/nodes/{nodes['pve1']}/access/{viewer_id}", headers=admin)
        base = f"/api/v1/nodes/{nodes['pve1']}"
        choices = (await http.get(f"{base}/os-templates", headers=admin)).json()
        present = {t["file"] for t in choices["on_storage"]}
        missing = next(d["template"] for d in choices["downloadable"] if d["template"] not in present)

        refused = await http.post(f"{base}/os-templates/download", json={"storage": "local", "template": missing},
                                  headers=viewer)  # fmt: skip
        assert refused.status_code == 403
        wrong_store = await http.post(
            f"{base}/os-templates/download", json={"storage": "local-lvm", "template": missing}, headers=admin
        )
        assert wrong_store.status_code == 422 and wrong_store.json()["fields"][0]["loc"] == ["body", "storage"]
        unknown = await http.post(
            f"{base}/os-templates/download", json={"storage": "local", "template": "nope_1.0_amd64.tar.zst"},
            headers=admin,
        )  # fmt: skip
        assert unknown.status_code == 422 and unknown.json()["fields"][0]["loc"] == ["body", "template"]

        started = await http.post(
            f"{base}/os-templates/download", json={"storage": "local", "template": missing}, headers=admin
        )
        assert started.status_code == 202, started.text
        task = started.json()
        assert task["upid"].startswith("UPID:pve1:") and task["type"] == "download"
        assert task["status_url"] == f"{base}/tasks/{task['upid']}"
        done = await _wait_task(http, task["status_url"], viewer)  # readers may follow it
        assert done["ok"] is True and done["exitstatus"] == "OK" and done["log_tail"]
        after = (await http.get(f"{base}/os-templates", headers=admin)).json()
        assert f"local:vztmpl/{missing}" in {t["volid"] for t in after["on_storage"]}

        # The task is this node's only: through another node, or a made-up id, it does not exist.
        other = await http.get(f"/api/v1/nodes/{nodes['pve2']}/tasks/{task['upid']}", headers=admin)
        assert other.status_code == 404
        fake = task["upid"].replace(":download:", ":vzcreate:")
        assert (await http.get(f"{base}/tasks/{fake}", headers=admin)).status_code == 404
        assert (await http.get(f"{base}/tasks/UPID:garbage", headers=admin)).status_code in (404, 422)

        audit = await http.get("/api/v1/audit", params={"action": "node.os_template.download"}, headers=admin)
        assert audit.status_code == 200 and missing in audit.text


async def test_visibility_and_node_failures_are_clear_errors(app: FastAPI, tmp_path: Path) -> None:
    admin = await _admin(app)
    operator_id = await create_user(app, "op", role="operator")
    operator = bearer(await create_token(app, operator_id))
    async with running_simulator(tmp_path / "sim") as sim, new_client(app) as http:
        nodes = await register_nodes(http, sim, admin)
        granted = await http.post(f"/api/v1/nodes/{nodes['pve1']}/access/{operator_id}", headers=admin)
        assert granted.status_code in (200, 201), granted.text
        for route in NODE_ROUTES:
            hidden = await http.get(f"/api/v1/nodes/{nodes['pve2']}/{route}", headers=operator)
            assert hidden.status_code == 404 and hidden.json()["detail"] == "Node not found", route
            assert (await http.get(f"/api/v1/nodes/{nodes['pve1']}/{route}", headers=operator)).status_code == 200
        assert (await http.get(f"/api/v1/nodes/no-such-node/{NODE_ROUTES[0]}", headers=admin)).status_code == 404

        await sim_control(sim, "POST", "/faults", json={"kind": "node_offline", "node": "pve3", "status": 595})
        offline = await http.get(f"/api/v1/nodes/{nodes['pve3']}/bridges", headers=admin)
        assert offline.status_code == 503 and offline.json()["error"] == "node_offline"
        assert "offline" in offline.json()["detail"]

        fault = {
            "kind": "error",
            "endpoint": "GET /nodes/{node}/network",
            "status": 503,
            "message": "busy",
            "count": 10,
        }
        await sim_control(sim, "POST", "/faults", json=fault)
        busy = await http.get(f"/api/v1/nodes/{nodes['pve1']}/bridges", headers=admin)
        assert busy.status_code == 503 and busy.json()["error"] == "node_busy"

        await sim_control(sim, "POST", "/faults", json={"kind": "token_revoked", "token": sim["token_id"]})
        revoked = await http.get(f"/api/v1/nodes/{nodes['pve1']}/storages", headers=admin)
        assert revoked.status_code == 502 and revoked.json()["error"] == "node_auth_failed"
        assert sim["token_secret"] not in revoked.text
