"""``/api/v1/containers``: what a finished deployment recorded, visible like its node, never a credential value."""

from __future__ import annotations

from pipekit import TOKEN_VALUE, Sim

from helpers import bearer, create_token, create_user, new_client
from lxc_manager.deployments.tasks import run_deployment


async def test_containers_list_and_detail_follow_node_visibility(sim: Sim) -> None:
    deployment_id = await sim.create_deployment()
    assert await run_deployment(sim.ctx(), deployment_id) == "succeeded"
    secrets = await sim.secrets_of(deployment_id)
    admin = bearer(await create_token(sim.app, sim.admin_id, scopes=("read",)))
    outsider_id = await create_user(sim.app, "bob", role="operator")
    outsider = bearer(await create_token(sim.app, outsider_id, scopes=("read",)))
    async with new_client(sim.app) as http:
        listed = await http.get("/api/v1/containers", headers=admin)
        assert listed.status_code == 200, listed.text
        (item,) = listed.json()
        assert item["deployment_id"] == deployment_id and item["status"] == "running"
        deployment = await http.get(f"/api/v1/deployments/{deployment_id}", headers=admin)
        assert deployment.json()["container_id"] == item["id"]
        detail = await http.get(f"/api/v1/containers/{item['id']}", headers=admin)
        assert detail.status_code == 200
        assert sorted(c["name"] for c in detail.json()["credentials"]) == ["admin_password", "api_token"]
        for response in (listed, detail):
            for secret in [TOKEN_VALUE, *secrets.values()]:
                assert secret not in response.text
        assert (await http.get("/api/v1/containers", headers=outsider)).json() == []
        hidden = await http.get(f"/api/v1/containers/{item['id']}", headers=outsider)
        assert hidden.status_code == 404 and hidden.json()["error"] == "not_found"
        assert (await http.get("/api/v1/containers/bad%20id", headers=admin)).status_code == 422
