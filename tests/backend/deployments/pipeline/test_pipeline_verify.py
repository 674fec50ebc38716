"""The *verify* phase: one probe command per service and attempt (unit, port, web UI in order), each check with its
own attempts, the first failing check named; the probe script itself against the simulator's shell and shims."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pipekit import TEMPLATE, Sim
from sqlalchemy import select

from lxc_manager.core.db import unit_of_work
from lxc_manager.deployments.pipeline.verify import SERVICE_PROBE
from lxc_manager.deployments.tasks import run_deployment
from lxc_manager.integrations.ssh import SSHNodeClient, SSHTarget
from lxc_manager.models import Template, TemplateRevision


async def _set_services(sim: Sim, services: list[dict[str, Any]]) -> None:
    """Change the declared services of the test template's current revision (as an edited template would)."""
    async with unit_of_work(sim.sessionmaker) as db:
        template = (await db.scalars(select(Template).where(Template.name == TEMPLATE))).one()
        query = select(TemplateRevision).where(
            TemplateRevision.template_id == template.id, TemplateRevision.number == template.current_revision
        )
        revision = (await db.scalars(query)).one()
        revision.manifest = {**revision.manifest, "services": services}


def _calls(tmp_path: Path, vmid: int, command: str) -> list[list[str]]:
    """The argv of every ``command`` shim call in the container (the memory backend logs them)."""
    log = tmp_path / "sim" / "containers" / str(vmid) / "root" / ".pvesim" / "calls.jsonl"
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    return [entry["argv"] for entry in entries if entry["cmd"] == command]


async def _ok_lines(sim: Sim, deployment_id: str) -> list[str]:
    return [e.message for e in await sim.events(deployment_id) if e.type == "log" and e.message.startswith("ok: ")]


async def test_every_check_passes_and_is_reported_once(sim: Sim) -> None:
    await _set_services(sim, [
        {"name": "web", "unit": "nginx.service", "port": 80, "protocol": "http", "web_ui": "/"},
        {"name": "daemon", "unit": "nginx.service"},
    ])  # fmt: skip
    deployment_id = await sim.create_deployment()
    assert await run_deployment(sim.ctx(), deployment_id) == "succeeded"
    assert await _ok_lines(sim, deployment_id) == [
        "ok: service web: unit nginx.service is active",
        "ok: service web: port 80 is listening",
        "ok: service web: web UI http://127.0.0.1:80/ answers",
        "ok: service daemon: unit nginx.service is active",
    ]


async def test_a_failing_port_is_named_after_its_own_attempts(sim: Sim, tmp_path: Path) -> None:
    await _set_services(sim, [{"name": "web", "unit": "nginx.service", "port": 81, "protocol": "http", "web_ui": "/"}])
    deployment_id = await sim.create_deployment()
    assert await run_deployment(sim.ctx(verify_attempts=4), deployment_id) == "failed"
    deployment = await sim.deployment(deployment_id)
    assert deployment.error_code == "verify_failed"
    assert deployment.error_message == "service web: port 81 is listening: failed after 4 attempts"
    assert await _ok_lines(sim, deployment_id) == ["ok: service web: unit nginx.service is active"]
    # One probe per attempt, stopped at the port: the unit was asked each time, the web UI never.
    assert deployment.vmid is not None
    assert _calls(tmp_path, deployment.vmid, "ss") == [["-H", "-ltn", "sport", "=", ":81"]] * 4
    assert len([a for a in _calls(tmp_path, deployment.vmid, "systemctl") if a[0] == "is-active"]) == 4
    assert _calls(tmp_path, deployment.vmid, "curl") == []


@pytest.mark.parametrize(
    ("arguments", "answer"),
    [
        (["nginx.service", "-ltn", "80", "http://127.0.0.1:80/"], "ok"),
        (["nginx.service", "", "", ""], "ok"),
        (["", "", "", ""], "ok"),
        (["missing.service", "-ltn", "80", "http://127.0.0.1:80/"], "unit"),
        (["nginx.service", "-ltn", "8080", ""], "port"),
        (["", "-lun", "80", ""], "port"),  # nginx listens on TCP only
        (["nginx.service", "", "", "http://127.0.0.1:81/"], "web"),
        (["nginx; touch /tmp/injected", "", "", ""], "unit"),  # parameters stay data
    ],
)
async def test_the_probe_script_in_a_container(sim: Sim, arguments: list[str], answer: str) -> None:
    deployment_id = await sim.create_deployment()
    assert await run_deployment(sim.ctx(), deployment_id) == "succeeded"
    vmid = (await sim.deployment(deployment_id)).vmid
    assert vmid is not None
    ssh = sim.connection["ssh"]
    key = await asyncio.to_thread(Path(ssh["private_key_path"]).read_text)
    target = SSHTarget(ssh["nodes"][sim.pve_node]["host"], ssh["nodes"][sim.pve_node]["port"], ssh["user"], key,
                       ssh["host_public_key"])  # fmt: skip
    async with SSHNodeClient(target) as node:
        result = await node.pct_exec(vmid, ["/bin/sh", "-c", SERVICE_PROBE, "lxcm-probe", *arguments], check=False)
        injected = await node.pct_exec(vmid, ["test", "-e", "/tmp/injected"], check=False)
    assert (result.exit_status, result.stdout_tail.strip()) == (0, answer)
    assert injected.exit_status == 1
