"""The whole pipeline against the simulator's memory backend: success end to end, events in order, the container
recorded, credentials encrypted (and never in events), idempotent re-runs."""

from __future__ import annotations

from pipekit import TOKEN_VALUE, Sim

from lxc_manager.containers.service import reveal_credential
from lxc_manager.deployments.tasks import run_deployment
from lxc_manager.models import PHASES


async def test_success_end_to_end(sim: Sim) -> None:
    deployment_id = await sim.create_deployment()
    assert await run_deployment(sim.ctx(), deployment_id) == "succeeded"

    deployment = await sim.deployment(deployment_id)
    assert deployment.status == "succeeded", (deployment.error_code, deployment.error_message)
    assert deployment.vmid is not None and deployment.ip_address
    assert deployment.lease_owner is None
    assert all(deployment.phases[p]["status"] == "succeeded" for p in PHASES)

    events = await sim.events(deployment_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    phase_events = [(e.phase, e.status) for e in events if e.type == "phase"]
    expected = [(p.value, s) for p in PHASES for s in ("running", "succeeded")]
    assert phase_events == expected
    assert events[-1].type == "result" and events[-1].status == "succeeded"
    assert events[-1].data["vmid"] == deployment.vmid
    logs = [e.message for e in events if e.type == "log"]
    assert "greeting: hello pipeline" in logs and "to stderr" in logs and "done" in logs
    assert any(e.status == "stderr" and e.message == "to stderr" for e in events)
    assert all(e.data.get("duration_s") is not None for e in events if e.type == "phase" and e.status == "succeeded")

    (container,) = await sim.containers()
    assert container.deployment_id == deployment_id and container.vmid == deployment.vmid
    assert container.status == "running" and container.ip_address == deployment.ip_address
    assert [s["name"] for s in container.services] == ["web"]
    credentials = {c.name: c for c in await sim.credentials(container.id)}
    assert set(credentials) == {"admin_password", "api_token"}
    secrets = await sim.secrets_of(deployment_id)
    assert reveal_credential(sim.settings, credentials["admin_password"]) == secrets["input:admin_password"]
    assert reveal_credential(sim.settings, credentials["api_token"]) == TOKEN_VALUE
    assert TOKEN_VALUE.encode() not in credentials["api_token"].value_enc
    everything = " ".join(f"{e.message} {e.data}" for e in events)
    for secret in [*secrets.values(), TOKEN_VALUE]:
        assert secret not in everything

    guests = await sim.guests()
    assert list(guests) == [deployment.vmid]
    tags = guests[deployment.vmid]["config"]["tags"]
    assert "lxcm" in tags.split(";") and f"lxcm-{deployment_id[:12]}" in tags.split(";")
    assert deployment_id in guests[deployment.vmid]["config"]["description"]

    # At-least-once delivery: running the finished deployment again changes nothing.
    assert await run_deployment(sim.ctx(), deployment_id) == "skipped"
    assert len(await sim.events(deployment_id)) == len(events)
