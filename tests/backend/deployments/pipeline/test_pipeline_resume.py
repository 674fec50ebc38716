"""Idempotent phases: a re-run adopts the CT stamped with this deployment instead of creating another; task
warnings count as success and are recorded; credentials are bound to their row."""

from __future__ import annotations

import pytest
from pipekit import Sim

from lxc_manager.containers.service import credential_context
from lxc_manager.core.crypto import SecretDecryptionError, load_keyring
from lxc_manager.deployments.tasks import run_deployment


async def test_rerun_without_the_recorded_vmid_adopts_the_stamped_container(sim: Sim) -> None:
    deployment_id = await sim.create_deployment()
    assert await run_deployment(sim.ctx(), deployment_id) == "succeeded"
    vmid = (await sim.deployment(deployment_id)).vmid
    # A worker died after PVE accepted the create but before the vmid was recorded: the DB knows nothing.
    await sim.update(deployment_id, status="pending", vmid=None, phases={}, finished_at=None, ip_address=None)
    assert await run_deployment(sim.ctx(), deployment_id) == "succeeded"
    again = await sim.deployment(deployment_id)
    assert again.vmid == vmid and list(await sim.guests()) == [vmid]
    messages = [e.message for e in await sim.events(deployment_id)]
    assert any("stamped with this deployment: adopting it" in m for m in messages)
    assert len(await sim.containers()) == 1  # the container row is updated, not duplicated


async def test_task_warnings_are_success_with_warnings_recorded(sim: Sim) -> None:
    await sim.fault(kind="task_warnings", task_type="vzstart", warnings=2, count=1)
    deployment_id = await sim.create_deployment()
    assert await run_deployment(sim.ctx(), deployment_id) == "succeeded"
    deployment = await sim.deployment(deployment_id)
    assert deployment.phases["start"]["attempts"] == 1
    assert deployment.warnings and all(w.startswith("start: ") for w in deployment.warnings)
    assert any("2 warning(s)" in e.message for e in await sim.events(deployment_id))


async def test_credentials_are_bound_to_their_row(sim: Sim) -> None:
    deployment_id = await sim.create_deployment()
    assert await run_deployment(sim.ctx(), deployment_id) == "succeeded"
    (container,) = await sim.containers()
    first, second = await sim.credentials(container.id)
    keyring = load_keyring(sim.settings)
    assert keyring.decrypt_text(first.value_enc, credential_context(first.id))
    with pytest.raises(SecretDecryptionError):  # a ciphertext copied into another row does not decrypt
        keyring.decrypt_text(first.value_enc, credential_context(second.id))
