"""The *verify* phase (services, ports, web UIs, credential capture) and the *finalize* phase (the record)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from lxc_manager.containers import service as containers
from lxc_manager.deployments.pipeline.context import Run
from lxc_manager.deployments.pipeline.errors import PipelineError
from lxc_manager.deployments.pipeline.provision import OUTPUT_FILE, SNAPSHOT, WORK_DIR, ct_run, run_hooks
from lxc_manager.integrations.proxmox import ProxmoxError
from lxc_manager.integrations.ssh import SSHError
from lxc_manager.templates.format import HookEvent, Service

CURL_MISSING = 127


async def _retry(run: Run, description: str, check: Callable[[], Awaitable[bool]]) -> None:
    for attempt in range(1, run.options.verify_attempts + 1):
        await run.check_cancel()
        if await check():
            await run.info(f"ok: {description}")
            return
        if attempt < run.options.verify_attempts:
            await asyncio.sleep(run.options.verify_interval_s)
    raise PipelineError("verify_failed", f"{description}: failed after {run.options.verify_attempts} attempts")


async def _exit_status(run: Run, argv: list[str]) -> tuple[int, str]:
    assert run.vmid is not None
    node = await run.ssh()
    result = await node.pct_exec(run.vmid, argv, check=False, timeout=30)
    return result.exit_status, result.stdout_tail


def _listening(output: str, port: int) -> bool:
    for line in output.splitlines():
        fields = line.split()
        # ``ss -ltn``: State Recv-Q Send-Q Local:Port Peer:Port …; the header (if any) never ends in ":<port>".
        if len(fields) >= 4 and fields[3].rsplit(":", 1)[-1] == str(port):
            return True
    return False


def service_url(ip: str | None, service: Service) -> str | None:
    if service.web_ui is None or service.port is None or ip is None:
        return None
    host = f"[{ip}]" if ":" in ip else ip
    return f"{service.protocol}://{host}:{service.port}{service.web_ui}"


async def _verify_service(run: Run, service: Service) -> None:
    if service.unit:
        unit = service.unit

        async def unit_active() -> bool:
            return (await _exit_status(run, ["systemctl", "is-active", "--quiet", unit]))[0] == 0

        await _retry(run, f"service {service.name}: unit {unit} is active", unit_active)
    if service.port:
        port, flags = service.port, "-lun" if service.protocol == "udp" else "-ltn"

        async def port_listening() -> bool:
            status, out = await _exit_status(run, ["ss", "-H", flags])
            return status == 0 and _listening(out, port)

        await _retry(run, f"service {service.name}: port {port} is listening", port_listening)
    if service.web_ui and service.port:
        url = f"{service.protocol}://127.0.0.1:{service.port}{service.web_ui}"
        argv = ["curl", "-fsS", "-k", "-o", "/dev/null", "--max-time", "10", "--", url]

        async def answering() -> bool:
            return (await _exit_status(run, argv))[0] == 0

        await _retry(run, f"service {service.name}: web UI {url} answers", answering)


def _parse_outputs(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key:
            values[key] = value  # the last line for a key wins
    return values


async def capture_credentials(run: Run) -> int:
    """Read declared credentials from the CT and store them encrypted; values never reach events or logs."""
    assert run.vmid is not None
    manifest = run.template.manifest
    if not manifest.credentials:
        return 0
    node = await run.ssh()
    outputs: dict[str, str] | None = None
    captured: dict[str, tuple[str, str | None]] = {}
    for credential in manifest.credentials:
        await run.check_cancel()
        try:
            if credential.capture.file:
                value = (await node.pull_file(run.vmid, credential.capture.file)).decode().rstrip("\n")
            else:
                if outputs is None:
                    outputs = _parse_outputs((await node.pull_file(run.vmid, OUTPUT_FILE)).decode())
                value = outputs.get(credential.capture.output or "", "")
        except (SSHError, UnicodeDecodeError):
            raise PipelineError("credential_capture_failed", f"credential {credential.name}: cannot read it") from None
        if not value:
            raise PipelineError("credential_capture_failed", f"credential {credential.name}: no value captured")
        run.secrets[f"credential:{credential.name}"] = value  # masked in any later log line
        captured[credential.name] = (value, credential.description)
    async with run.step() as (db, deployment):
        container = await containers.upsert_for_deployment(db, deployment, status="verifying")
        for name, (value, description) in captured.items():
            await containers.store_credential(db, run.settings, container, name, value, description)
    await run.info(f"{len(captured)} credential(s) captured and stored encrypted", names=sorted(captured))
    return len(captured)


async def phase_verify(run: Run, inputs: dict[str, object]) -> None:
    services = run.template.manifest.services
    if not services:
        await run.info("no services declared")
    for service in services:
        await _verify_service(run, service)
    await run_hooks(run, HookEvent.post_verify, inputs)
    await capture_credentials(run)


async def phase_finalize(run: Run) -> dict[str, object]:
    """Record the container with its services and links; clean the CT's work folder (secrets) and the snapshot."""
    assert run.vmid is not None
    services = [service.model_dump(exclude_none=True) for service in run.template.manifest.services]
    links = [
        {"name": service.name, "url": url, "description": service.description}
        for service in run.template.manifest.services
        if (url := service_url(run.ip_address, service)) is not None
    ]
    await ct_run(run, ["rm", "-rf", "--", WORK_DIR])
    try:
        upid = await run.pve.lxc_snapshot_delete(run.pve_node, run.vmid, SNAPSHOT)
        await run.pve.wait_task(upid, timeout=run.options.task_timeout_s, poll_interval=run.options.task_poll_s)
    except ProxmoxError:
        pass  # no snapshot (storage without support) or already removed by an earlier finalize attempt
    async with run.step() as (db, deployment):
        await containers.upsert_for_deployment(db, deployment, status="running", services=services, links=links)
    return {"vmid": run.vmid, "ip": run.ip_address, "web_ui": [link["url"] for link in links]}
