"""The *verify* phase (services, ports, web UIs, credential capture) and the *finalize* phase (the record)."""

from __future__ import annotations

import asyncio

from lxc_manager.containers import service as containers
from lxc_manager.deployments.pipeline.context import Run
from lxc_manager.deployments.pipeline.errors import PipelineError
from lxc_manager.deployments.pipeline.provision import OUTPUT_FILE, SNAPSHOT, WORK_DIR, ct_run, run_hooks
from lxc_manager.integrations.proxmox import ProxmoxError
from lxc_manager.integrations.ssh import SSHError
from lxc_manager.templates.format import HookEvent, Service

# One command per attempt checks a service's unit, port and web UI in that order and names the first that fails
# ("ok" when none does): each command in the CT is a ``pct exec`` on the node, whose start-up costs more than the
# checks. A constant script; unit, ``ss`` flags, port and URL arrive as positional parameters (empty: not
# declared). ``ss`` filters on the port itself (``sport = :N``), so its output is empty unless something listens.
SERVICE_PROBE = """\
if [ -n "$1" ]; then systemctl is-active --quiet "$1" || { echo unit; exit 0; }; fi
if [ -n "$2" ]; then [ -n "$(ss -H "$2" sport = ":$3")" ] || { echo port; exit 0; }; fi
if [ -n "$4" ]; then curl -fsS -k -o /dev/null --max-time 10 -- "$4" || { echo web; exit 0; }; fi
echo ok
"""


def _service_checks(service: Service) -> list[tuple[str, str]]:
    """The declared checks in probe order: (probe word, description)."""
    checks = []
    if service.unit:
        checks.append(("unit", f"service {service.name}: unit {service.unit} is active"))
    if service.port:
        checks.append(("port", f"service {service.name}: port {service.port} is listening"))
        if service.web_ui:
            checks.append(("web", f"service {service.name}: web UI {_local_url(service)} answers"))
    return checks


def _local_url(service: Service) -> str:
    return f"{service.protocol}://127.0.0.1:{service.port}{service.web_ui}"


async def _probe(run: Run, service: Service, checks: list[tuple[str, str]], passed: int) -> int:
    """How many checks pass, in order (the index of the first failing one; ``len(checks)``: all pass). An
    unreadable answer (the CT stopped, no shell) fails the first check not yet passed."""
    assert run.vmid is not None
    flags = ("-lun" if service.protocol == "udp" else "-ltn") if service.port else ""
    url = _local_url(service) if service.web_ui and service.port else ""
    argv = ["/bin/sh", "-c", SERVICE_PROBE, "lxcm-probe", service.unit or "", flags, str(service.port or ""), url]
    node = await run.ssh()
    result = await node.pct_exec(run.vmid, argv, check=False, timeout=30)
    words = result.stdout_tail.split()
    answer = words[-1] if result.exit_status == 0 and words else None
    if answer == "ok":
        return len(checks)
    keys = [key for key, _ in checks]
    return keys.index(answer) if answer in keys else passed


def service_url(ip: str | None, service: Service) -> str | None:
    if service.web_ui is None or service.port is None or ip is None:
        return None
    host = f"[{ip}]" if ":" in ip else ip
    return f"{service.protocol}://{host}:{service.port}{service.web_ui}"


async def _verify_service(run: Run, service: Service) -> None:
    """Probe until every check passes; each check gets ``verify_attempts`` tries (counted while it is the first to
    fail, as if the checks ran one after the other), ``verify_interval_s`` apart."""
    checks = _service_checks(service)
    passed, failures = 0, [0] * len(checks)
    while passed < len(checks):
        await run.check_cancel()
        answer = await _probe(run, service, checks, passed)
        for _, description in checks[passed:answer]:
            await run.info(f"ok: {description}")
        passed = max(passed, answer)
        if answer == len(checks):
            return
        failures[answer] += 1
        if failures[answer] >= run.options.verify_attempts:
            description = checks[answer][1]
            raise PipelineError("verify_failed", f"{description}: failed after {run.options.verify_attempts} attempts")
        await asyncio.sleep(run.options.verify_interval_s)


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
