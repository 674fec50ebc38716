"""Helpers of the pipeline tests (a uniquely named module: ``conftest`` is ambiguous across test folders)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from lxc_manager.core.db import unit_of_work
from lxc_manager.deployments.pipeline.options import PipelineOptions
from lxc_manager.deployments.secrets import ROOT_PASSWORD, encrypt_deployment_secrets, input_key
from lxc_manager.models import Container, ContainerCredential, Deployment, DeploymentEvent, Template, TemplateRevision
from lxc_manager.templates.format import TemplateManifest
from lxc_manager.templates.resolve import pve_create_params

TEMPLATE = "pipetest"
OSTEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
TOKEN_VALUE = "tok-7f3a9c1e"

MANIFEST = """\
format: 1
name: pipetest
description: Pipeline test template (memory backend friendly)
os:
  template: debian-12-standard
container:
  cores: 1
  memory: 256
  swap: 0
  disk: 4
  unprivileged: true
  network: {bridge: vmbr0, ip: dhcp, ip6: none}
packages:
  extra: [nginx, curl]
scripts: [10-setup.sh]
hooks:
  pre-create: [host-pre.sh]
  post-create: [host-post.sh]
files:
  - source: motd
    destination: /etc/pipetest/motd
    mode: "0640"
services:
  - name: web
    unit: nginx.service
    port: 80
    protocol: tcp
credentials:
  - name: admin_password
    capture: {output: ADMIN_PASSWORD}
  - name: api_token
    capture: {file: /etc/pipetest/token}
inputs:
  - name: greeting
    type: string
    default: hello pipeline
  - name: pause
    type: int
    default: 0
  - name: fail
    type: bool
    default: false
  - name: stop_web
    type: bool
    default: false
  - name: admin_password
    type: password
    generate: true
"""

SCRIPT = """\
#!/bin/sh
# Test provisioning script: prints lines, hands back a secret, optionally pauses or fails.
set -eu
echo "greeting: $INPUT_GREETING"
echo "to stderr" >&2
mkdir -p /etc/pipetest
printf 'ADMIN_PASSWORD=%s\\n' "$(cat "$INPUT_ADMIN_PASSWORD_FILE")" >> "$LXCM_OUTPUT_FILE"
echo "TOKEN_VALUE" > /etc/pipetest/token
echo run >> /etc/pipetest/runs
if [ "$INPUT_PAUSE" -gt 0 ]; then
  echo "pausing $INPUT_PAUSE s"
  sleep "$INPUT_PAUSE"
fi
if [ "$INPUT_STOP_WEB" = "true" ]; then
  systemctl stop nginx.service
fi
if [ "$INPUT_FAIL" = "true" ]; then
  echo "failing on purpose" >&2
  exit 3
fi
echo done
""".replace("TOKEN_VALUE", TOKEN_VALUE)

# Host hooks (on the node; in the simulator its scratch dir's tmp is /tmp): one line each in HOST_HOOK_LOG with
# what they were given (the secret input: only whether its file is there, non-empty and 0600). The post-create
# hook fails while HOST_HOOK_FAIL_FLAG exists; a hook sleeps silently for the seconds in HOST_HOOK_PAUSE_FILE.
HOST_HOOK_LOG = "tmp/pipetest-host-hooks.log"
HOST_HOOK_FAIL_FLAG = "tmp/pipetest-fail-post-create"
HOST_HOOK_PAUSE_FILE = "tmp/pipetest-pause-{event}"
HOST_HOOK = """\
#!/bin/sh
set -eu
secret=missing
if [ -s "$INPUT_ADMIN_PASSWORD_FILE" ] && [ "$(stat -c %a "$INPUT_ADMIN_PASSWORD_FILE")" = 600 ]; then
  secret=0600
fi
echo "EVENT deployment=$LXCM_DEPLOYMENT_ID vmid=${LXCM_VMID:-none} greeting=$INPUT_GREETING secret=$secret" \\
  >> /tmp/pipetest-host-hooks.log
if [ -e /tmp/pipetest-pause-EVENT ]; then
  echo "EVENT pausing"
  sleep "$(cat /tmp/pipetest-pause-EVENT)"
fi
echo "EVENT host hook ran"
"""
HOST_HOOK_POST_EXTRA = """\
if [ -e /tmp/pipetest-fail-post-create ]; then
  echo "post-create failing on purpose" >&2
  exit 4
fi
"""


def write_test_template(templates_dir: Path) -> None:
    folder = templates_dir / TEMPLATE
    (folder / "scripts").mkdir(parents=True, exist_ok=True)
    (folder / "files").mkdir(exist_ok=True)
    (folder / "template.yaml").write_text(MANIFEST)
    script = folder / "scripts" / "10-setup.sh"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    (folder / "files" / "motd").write_text("managed by lxcm\n")
    (folder / "hooks").mkdir(exist_ok=True)
    (folder / "hooks" / "host-pre.sh").write_text(HOST_HOOK.replace("EVENT", "pre-create"))
    (folder / "hooks" / "host-post.sh").write_text(HOST_HOOK.replace("EVENT", "post-create") + HOST_HOOK_POST_EXTRA)


def fast_options(**overrides: Any) -> PipelineOptions:
    values: dict[str, Any] = {
        "lease_ttl_s": 10.0, "heartbeat_interval_s": 1.0, "stale_after_s": 2.0, "task_timeout_s": 30.0,
        "task_poll_s": 0.02, "lock_wait_s": 0.5, "ip_timeout_s": 10.0, "ip_poll_s": 0.05, "command_timeout_s": 60.0,
        "verify_attempts": 3, "verify_interval_s": 0.05, "max_tries": 3, "retry_backoff_s": 0.05,
        "retry_backoff_max_s": 0.2, "log_flush_interval_s": 0.05, "cancel_poll_s": 0.2,
    }  # fmt: skip
    values.update(overrides)
    return PipelineOptions(**values)


class Sim:
    """The registered simulator node: the app, its control API (faults, state) and DB helpers."""

    def __init__(self, app: FastAPI, connection: dict[str, Any], node_id: str, pve_node: str, admin_id: str) -> None:
        self.app = app
        self.connection = connection
        self.node_id = node_id
        self.pve_node = pve_node
        self.admin_id = admin_id
        self.http = httpx.AsyncClient(verify=str(connection["ca_path"]), timeout=30)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object | TracebackType | None) -> None:
        await self.http.aclose()

    @property
    def sessionmaker(self) -> Any:
        return self.app.state.lxcm.sessionmaker

    @property
    def settings(self) -> Any:
        return self.app.state.lxcm.settings

    def ctx(self, **options: Any) -> dict[str, Any]:
        return {
            "sessionmaker": self.sessionmaker,
            "settings": self.settings,
            "pipeline_options": fast_options(**options),
        }

    # ---- simulator control --------------------------------------------------------------------------------
    def _control(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.connection['control_token']}"}

    async def fault(self, **spec: Any) -> int:
        response = await self.http.post(f"{self.connection['control_url']}/faults", json=spec, headers=self._control())
        assert response.status_code in (200, 201), response.text
        return int(response.json()["id"])

    async def clear_faults(self) -> None:
        await self.http.delete(f"{self.connection['control_url']}/faults", headers=self._control())

    async def state(self) -> dict[str, Any]:
        response = await self.http.get(f"{self.connection['control_url']}/state", headers=self._control())
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    async def guests(self) -> dict[int, dict[str, Any]]:
        state = await self.state()
        return {int(vmid): guest for vmid, guest in state["guests"].items()}

    async def pve(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"PVEAPIToken={self.connection['token_id']}={self.connection['token_secret']}"}
        response = await self.http.request(method, f"{self.connection['api_url']}{path}", headers=headers, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    async def wait_task(self, upid: str) -> None:
        for _ in range(500):
            status = await self.pve("GET", f"/nodes/{self.pve_node}/tasks/{upid}/status")
            if status["status"] == "stopped":
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"task {upid} did not finish")

    # ---- DB ---------------------------------------------------------------------------------------------------
    async def create_deployment(
        self, *, inputs: dict[str, Any] | None = None, on_failure: str = "keep", hostname: str | None = None
    ) -> str:
        """A deployment row as D2's create endpoint stores it (plan with pve_params, secrets encrypted)."""
        async with unit_of_work(self.sessionmaker) as db:
            template = (await db.scalars(select(Template).where(Template.name == TEMPLATE))).one()
            revision = (
                await db.scalars(
                    select(TemplateRevision).where(
                        TemplateRevision.template_id == template.id,
                        TemplateRevision.number == template.current_revision,
                    )
                )
            ).one()
            manifest = TemplateManifest.model_validate(revision.manifest)
            hostname = hostname or f"pt-{secrets.token_hex(3)}"
            params: dict[str, Any] = {"ostemplate": OSTEMPLATE}
            params.update(pve_create_params(manifest, hostname=hostname, storage="local-lvm"))
            params["password"] = "********"
            deployment = Deployment(
                created_by=self.admin_id,
                node_id=self.node_id,
                node_name="sim-pve1",
                template_id=template.id,
                template_revision_id=revision.id,
                template_name=template.name,
                template_revision=revision.number,
                template_hash=revision.content_hash,
                request={"hostname": hostname},
                inputs={"greeting": "hello pipeline", "pause": 0, "fail": False, "stop_web": False, **(inputs or {})},
                plan={"pve_params": params, "hostname": hostname},
                hostname=hostname,
                on_failure=on_failure,
                phases={},
                warnings=[],
            )
            deployment.id = secrets.token_hex(16)
            encrypt_deployment_secrets(
                self.settings,
                deployment,
                {
                    ROOT_PASSWORD: "root-" + secrets.token_hex(8),
                    input_key("admin_password"): "adm-" + secrets.token_hex(8),
                },
            )
            db.add(deployment)
            return deployment.id

    async def deployment(self, deployment_id: str) -> Deployment:
        async with unit_of_work(self.sessionmaker) as db:
            row = await db.get(Deployment, deployment_id)
            assert row is not None
            return row

    async def update(self, deployment_id: str, **values: Any) -> None:
        async with unit_of_work(self.sessionmaker) as db:
            row = await db.get(Deployment, deployment_id)
            assert row is not None
            for key, value in values.items():
                setattr(row, key, value)

    async def events(self, deployment_id: str) -> list[DeploymentEvent]:
        async with unit_of_work(self.sessionmaker) as db:
            query = select(DeploymentEvent).where(DeploymentEvent.deployment_id == deployment_id)
            return list((await db.scalars(query.order_by(DeploymentEvent.seq))).all())

    async def containers(self) -> list[Container]:
        async with unit_of_work(self.sessionmaker) as db:
            return list((await db.scalars(select(Container))).all())

    async def credentials(self, container_id: str) -> list[ContainerCredential]:
        async with unit_of_work(self.sessionmaker) as db:
            query = select(ContainerCredential).where(ContainerCredential.container_id == container_id)
            return list((await db.scalars(query)).all())

    async def secrets_of(self, deployment_id: str) -> dict[str, str]:
        from lxc_manager.deployments.secrets import decrypt_deployment_secrets

        return decrypt_deployment_secrets(self.settings, await self.deployment(deployment_id))


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 60.0, interval: float = 0.1) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(interval)
