"""The *provision* phase over SSH (``pct exec``/``pct push``), plus the hooks that run at fixed points.

Every command is an argument list (``integrations.ssh`` joins it with ``shlex.join``), user text never becomes
shell code; secret inputs reach scripts only as 0600 files named by ``INPUT_<NAME>_FILE``. A snapshot taken
before the first attempt lets a retry start again from a clean container.
"""

from __future__ import annotations

import asyncio
import posixpath
from collections.abc import Coroutine
from typing import Any

from lxc_manager.core.logging import get_logger
from lxc_manager.deployments.pipeline.context import Run, phase_record, set_phase_data
from lxc_manager.deployments.pipeline.errors import Cancelled, PipelineError
from lxc_manager.integrations.proxmox import ProxmoxError
from lxc_manager.integrations.ssh import SSHCommandError, SSHError, format_env_file
from lxc_manager.integrations.ssh.commands import ENV_FILE_LOADER
from lxc_manager.templates.format import HookEvent
from lxc_manager.templates.resolve import ResolvedHook, is_secret

log = get_logger(__name__)

SNAPSHOT = "lxcm-pre-provision"
WORK_DIR = "/root/.lxcm"
ENV_FILE = f"{WORK_DIR}/env"
SECRETS_DIR = f"{WORK_DIR}/secrets"
OUTPUT_FILE = f"{WORK_DIR}/outputs"
APT_ENV = ["env", "DEBIAN_FRONTEND=noninteractive"]
# One command for the work folders (0700), the empty output file (0600) and the files' parent folders: every
# command in the CT is a ``pct exec`` on the node, whose start-up costs far more than a mkdir. A constant script:
# the paths arrive as positional parameters ($1-$4 the folders, $5 the output file, then the parents).
PREPARE_WORKDIR = (
    'mkdir -p -m 0700 -- "$1" "$2" "$3" "$4" && (umask 077 && : > "$5" && chmod 0600 "$5") && shift 5 && '
    'if [ "$#" -gt 0 ]; then mkdir -p -- "$@"; fi'
)


def script_environment(run: Run, inputs: dict[str, object]) -> dict[str, str]:
    """Non-secret inputs as ``INPUT_<NAME>``, secret ones as ``INPUT_<NAME>_FILE`` paths, the output file."""
    env = {"LXCM_OUTPUT_FILE": OUTPUT_FILE, "LXCM_DEPLOYMENT_ID": run.deployment_id}
    secret_names = {spec.name for spec in run.template.manifest.inputs if is_secret(spec)}
    for name, value in inputs.items():
        if name in secret_names:
            continue
        env[f"INPUT_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    for name in secret_names:
        if name in run.secret_inputs:
            env[f"INPUT_{name.upper()}_FILE"] = f"{SECRETS_DIR}/{name}"
    return env


async def ct_run(run: Run, argv: list[str], *, env: bool = False, what: str | None = None) -> None:
    """One command in the CT, output streamed as log events. Cancel is checked before it and polled while it
    runs: a cancel request stops the command (see ``_watched``)."""
    assert run.vmid is not None
    await run.check_cancel()
    if what:
        await run.info(what)
    node = await run.ssh()
    await _watched(run, node.pct_exec(run.vmid, argv, ENV_FILE if env else None, on_line=run.on_line))


async def _watched(run: Run, remote: Coroutine[Any, Any, object]) -> None:
    """Await a remote command while flushing its quiet output and polling for a cancel, which stops it: the
    client closes the channel, and the command's tether ends it in the CT or on the node."""
    command = asyncio.create_task(remote)
    tick = min(run.options.cancel_poll_s, run.options.log_flush_interval_s)
    try:
        while True:
            done, _ = await asyncio.wait({command}, timeout=tick)
            if done:
                command.result()
                return
            await run.flush_logs()  # a quiet command's last lines must not wait for its next line
            if await run.cancel_requested():  # read at most once per cancel_poll_s
                command.cancel()
                await asyncio.gather(command, return_exceptions=True)
                raise Cancelled()
    finally:
        if not command.done():
            command.cancel()
            await asyncio.gather(command, return_exceptions=True)
        await run.flush_logs(only_due=True)


async def _snapshot_or_rollback(run: Run, retry: bool) -> None:
    assert run.vmid is not None
    names = {snap.name for snap in await run.pve.lxc_snapshots(run.pve_node, run.vmid)}
    if SNAPSHOT in names:
        if retry:
            await run.info(f"rolling back to snapshot {SNAPSHOT} (clean state for the retry)")
            upid = await run.pve.lxc_snapshot_rollback(run.pve_node, run.vmid, SNAPSHOT, start=True)
            await run.pve.wait_task(upid, timeout=run.options.task_timeout_s, poll_interval=run.options.task_poll_s)
            status = await run.pve.lxc_status(run.pve_node, run.vmid)
            if status.status != "running":
                start = await run.pve.lxc_start(run.pve_node, run.vmid)
                await run.pve.wait_task(
                    start, timeout=run.options.task_timeout_s, poll_interval=run.options.task_poll_s
                )
        await run.record(snapshot=SNAPSHOT)
        return
    try:
        upid = await run.pve.lxc_snapshot_create(
            run.pve_node, run.vmid, SNAPSHOT, description="before provisioning (LXC Template Manager)"
        )
        await run.pve.wait_task(upid, timeout=run.options.task_timeout_s, poll_interval=run.options.task_poll_s)
    except ProxmoxError as exc:
        # Storage without snapshot support (dir, some NFS): provisioning still runs, a retry re-runs scripts.
        await run.info(f"no snapshot ({exc.message[:200]}); a retry re-runs every provisioning step")
        await run.record(snapshot=None)
        return
    await run.record(snapshot=SNAPSHOT)
    await run.info(f"snapshot {SNAPSHOT} taken")


async def _push(run: Run, content: bytes, dest: str, mode: int, owner: str = "root:root") -> None:
    """Push one file; its parent folder exists (``prepare_workdir`` creates them all in one command)."""
    assert run.vmid is not None
    node = await run.ssh()
    user, _, group = owner.partition(":")
    await run.check_cancel()
    path = await node.upload(content, "push-file", 0o600)
    try:
        await node.pct_push(run.vmid, path, dest, perms=mode, user=user or None, group=group or None)
    finally:
        await node.remove(path)


async def prepare_workdir(run: Run, inputs: dict[str, object]) -> None:
    """The CT's private work folder: env file, secret files (0600), empty output file (once per run)."""
    assert run.vmid is not None
    if run.workdir_ready:
        return
    node = await run.ssh()
    parents = sorted({posixpath.dirname(spec.destination) for spec in run.template.files} - {"/"})
    private = [WORK_DIR, SECRETS_DIR, f"{WORK_DIR}/scripts", f"{WORK_DIR}/hooks", OUTPUT_FILE]
    await ct_run(run, ["/bin/sh", "-c", PREPARE_WORKDIR, "lxcm-prepare", *private, *parents])
    await node.push_secret_file(run.vmid, format_env_file(script_environment(run, inputs)), ENV_FILE)
    for spec in run.template.manifest.inputs:
        value = run.secret_inputs.get(spec.name)
        if is_secret(spec) and value is not None:
            await node.push_secret_file(run.vmid, value.encode(), f"{SECRETS_DIR}/{spec.name}")
    run.workdir_ready = True


async def run_host_hooks(run: Run, event: HookEvent, inputs: dict[str, object]) -> None:
    """``pre-create`` (first in the create phase) or ``post-create`` (first in the start phase, the CT still
    stopped) hooks on the node, in order. Each is recorded in its phase when it finished and a re-run skips it, as
    the engine's state marks do: a host hook acts outside any snapshot, and nothing rolls its effects back."""
    hooks = [h for h in run.template.hooks if h.event == event]
    if not hooks:
        return
    phase = run.phase
    async with run.step() as (_, deployment):
        done = list(phase_record(deployment, phase).get("data", {}).get("host_hooks_done") or [])
    for hook in hooks:
        key = f"{event.value}/{hook.name}"
        if key in done:
            await run.info(f"hook {key} (host) already ran: skipped")
            continue
        await _host_hook(run, hook, inputs)
        done.append(key)
        async with run.step() as (_, deployment):
            set_phase_data(deployment, phase, {"host_hooks_done": done})


async def run_hooks(run: Run, event: HookEvent, inputs: dict[str, object]) -> None:
    """The container hooks of ``event`` (re-run on a retry: provisioning restarts from the snapshot); the host
    ones go through ``run_host_hooks``."""
    for hook in [h for h in run.template.hooks if h.event == event]:
        dest = f"{WORK_DIR}/hooks/{hook.name}"
        await _push(run, hook.content, dest, 0o700)
        await ct_run(run, [dest], env=True, what=f"hook {event.value}: {hook.name}")


async def _host_hook(run: Run, hook: ResolvedHook, inputs: dict[str, object]) -> None:
    """A host hook on the PVE node: script and env file in the client's private 0700 folder."""
    await run.check_cancel()
    await run.info(f"hook {hook.event.value} (host): {hook.name}")
    node = await run.ssh()
    env = script_environment(run, inputs)
    env.pop("LXCM_OUTPUT_FILE", None)
    secret_paths: list[str] = []
    for name, value in run.secret_inputs.items():  # secrets as private files on the node as well
        key = f"INPUT_{name.upper()}_FILE"
        if key in env:
            path = await node.upload(value.encode(), f"secret-{name}", 0o600)
            env[key] = path
            secret_paths.append(path)
    if run.vmid is not None:
        env["LXCM_VMID"] = str(run.vmid)
    env_path = await node.upload(format_env_file(env), "hook-env", 0o600)
    script_path = await node.upload(hook.content, f"hook-{hook.name}", 0o700)
    try:
        argv = ["/bin/sh", "-c", ENV_FILE_LOADER, "lxcm-env", env_path, script_path]
        await _watched(run, node.run(argv, on_line=run.on_line, tether=True))
    finally:
        for path in [env_path, script_path, *secret_paths]:
            try:
                await node.remove(path)
            except SSHError as exc:  # must not hide why we are here; Run.close() removes the whole private folder
                log.warning("host_hook_cleanup_failed", deployment_id=run.deployment_id, error=type(exc).__name__)


async def phase_provision(run: Run, inputs: dict[str, object]) -> None:
    async with run.step() as (_, deployment):
        retry = int(phase_record(deployment, "provision").get("attempts") or 0) > 1
    await _snapshot_or_rollback(run, retry)
    await prepare_workdir(run, inputs)
    await run_hooks(run, HookEvent.pre_provision, inputs)
    for spec in run.template.files:
        await run.info(f"file {spec.destination} ({spec.owner}, {spec.mode})")
        await _push(run, spec.content, spec.destination, int(spec.mode, 8), spec.owner)
    packages = [p.spec for p in run.template.packages.packages]
    web_ui = any(service.web_ui for service in run.template.manifest.services)
    if web_ui and "curl" not in {p.name for p in run.template.packages.packages}:
        packages.append("curl")  # verify fetches web UIs from inside the CT (the engine does the same)
    if run.template.packages.missing_buckets:
        raise PipelineError(
            "missing_bucket", f"package bucket(s) missing: {', '.join(run.template.packages.missing_buckets)}"
        )
    if packages:
        await ct_run(run, [*APT_ENV, "apt-get", "update"], what="apt-get update")
        await ct_run(
            run,
            [*APT_ENV, "apt-get", "install", "-y", "--no-install-recommends", *packages],
            what=f"installing {len(packages)} package(s): {' '.join(packages)}",
        )
    for script in run.template.scripts:
        dest = f"{WORK_DIR}/scripts/{script.name}"
        await _push(run, script.content, dest, 0o700)
        try:
            await ct_run(run, [dest], env=True, what=f"script {script.name}")
        except SSHCommandError as exc:
            raise PipelineError("script_failed", f"script {script.name} exited with status {exc.exit_status}") from None
    await run_hooks(run, HookEvent.post_provision, inputs)
