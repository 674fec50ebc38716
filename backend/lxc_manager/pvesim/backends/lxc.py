"""The simulator's real container backend: every simulated CT is a real LXC system container on this host.

Layout under the state dir (nothing goes to /var/lib/lxc)::

    <state>/lxc/<vmid>/config             LXC config rendered from the PVE create parameters (+ spec.json)
    <state>/lxc/<vmid>/delta, work         the CT's writable layer: overlay upper and work dirs
    <state>/lxc/<vmid>/snapshots/<name>/   copies of the writable layer
    <cache>/base/<tarball stem>[-shifted-100000]/   shared read-only lower dir, extracted once from the tarball

Every CT boots from an overlay (shared base + its own delta), so create is instant and a snapshot copies only what
the CT changed. Unprivileged CTs use a base whose owners are shifted by 100000 (PVE's on-disk layout) because LXC
can idmap only a ``dir`` rootfs, not an overlay.
Every command is an argv list run with asyncio subprocesses and a timeout; secrets for ``exec`` travel in the
environment of ``lxc-attach`` (``--keep-var NAME``), never in argv.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from lxc_manager.core.logging import get_logger
from lxc_manager.pvesim.backend import Output
from lxc_manager.pvesim.backends.lxc_config import (
    IDMAP_BASE,
    ContainerSpec,
    NetSpec,
    default_hwaddr,
    render_lxc_config,
    spec_from_pve_params,
    write_guest_files,
)
from lxc_manager.pvesim.backends.lxc_host import LxcHost, default_base_root, default_rootfs_tarball, shift_owners
from lxc_manager.pvesim.backends.lxc_process import (
    ContainerNotFoundError,
    ContainerNotRunningError,
    ExecResult,
    LxcBackendError,
    run_command,
)

log = get_logger("lxc_manager.pvesim.lxc")

GUEST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SNAPSHOT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{1,39}$")

__all__ = ["ContainerNotFoundError", "ContainerNotRunningError", "ExecResult", "LxcBackendError", "LxcContainerBackend"]


@dataclass(frozen=True)
class PulledFile:
    data: bytes
    mode: int
    uid: int
    gid: int


class LxcContainerBackend:
    """Real LXC system containers named by VMID under a private lxcpath."""

    name = "lxc"

    def __init__(
        self,
        state_dir: Path,
        *,
        rootfs_tarball: Path | None = None,
        host_bridge: str = "lxcbr0",
        keep: bool = False,
        command_timeout: float = 120.0,
        exec_timeout: float = 3600.0,
    ) -> None:
        self.lxcpath = (state_dir / "lxc").resolve()
        tarball = rootfs_tarball or default_rootfs_tarball()
        self.host = LxcHost(default_base_root(tarball).resolve(), tarball, host_bridge)
        # --keep of ``lxc-manager pve-sim`` arrives as LXCM_PVESIM_KEEP=1 (debugging: leave the CTs running).
        self.keep = keep or os.environ.get("LXCM_PVESIM_KEEP", "") == "1"
        self.command_timeout = command_timeout  # lxc-* management commands
        self.exec_timeout = exec_timeout  # pct exec: provisioning scripts may run for many minutes
        self._locks: dict[int, asyncio.Lock] = {}
        self._prepared = False
        self._closed = False
        atexit.register(self._cleanup_at_exit)

    # ---------------------------------------------------------------- preparation
    async def prepare(self) -> None:
        """Check the host (root, LXC, tarball), bring up the bridge, extract the shared base. Idempotent."""
        if self._prepared:
            return
        self.host.check()
        await self.host.ensure_bridge()
        await asyncio.to_thread(self.lxcpath.mkdir, parents=True, exist_ok=True)
        await self.host.base_dir()
        self._prepared = True

    # ---------------------------------------------------------------- helpers
    def _lock(self, vmid: int) -> asyncio.Lock:
        return self._locks.setdefault(vmid, asyncio.Lock())

    def ct_dir(self, vmid: int) -> Path:
        return self.lxcpath / str(vmid)

    def writable_dir(self, vmid: int) -> Path:
        """The CT's own files: the overlay upper dir."""
        return self.ct_dir(vmid) / "delta"

    @staticmethod
    def _prepare_layers(ct_dir: Path, unprivileged: bool) -> None:
        """delta + an empty work dir; for an unprivileged CT its (mapped) root must own both to mount them."""
        for name in ("delta", "work"):
            (ct_dir / name).mkdir(exist_ok=True)
        if unprivileged:
            shift_owners(ct_dir / "delta", IDMAP_BASE)
            shift_owners(ct_dir / "work", IDMAP_BASE)

    def exists(self, vmid: int) -> bool:
        return (self.ct_dir(vmid) / "config").is_file()

    def _require(self, vmid: int) -> None:
        if not self.exists(vmid):
            raise ContainerNotFoundError(f"CT {vmid} does not exist")

    def _lxc(self, tool: str, vmid: int, *args: str) -> list[str]:
        return [tool, "-P", str(self.lxcpath), "-n", str(vmid), *args]

    async def _checked(self, argv: list[str], what: str, *, time_limit: float | None = None) -> ExecResult:
        result = await run_command(argv, time_limit=time_limit or self.command_timeout)
        if result.exit_code != 0:
            detail = (result.stderr or result.stdout).decode(errors="replace").strip()
            raise LxcBackendError(f"{what} failed: {detail[-800:]}")
        return result

    def _log_tail(self, vmid: int) -> str:
        log_file = self.ct_dir(vmid) / "lxc.log"
        try:
            lines = log_file.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(line for line in lines[-15:] if "ERROR" in line)

    # ---------------------------------------------------------------- lifecycle
    async def create(
        self,
        vmid: int,
        ostemplate: str,
        hostname: str,
        ssh_keys: str | None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        """Protocol entry point. Every ``ostemplate`` boots the cached Debian 12 rootfs (the only one built here)."""
        spec = spec_from_pve_params(vmid, {**(params or {}), "hostname": hostname})
        if not spec.nets:  # a real CT without a NIC never gets the IP callers wait for
            spec = replace(spec, nets=(NetSpec(0, "eth0", "vmbr0", default_hwaddr(vmid, 0), ip="dhcp"),))
        log.info("lxc create", vmid=vmid, ostemplate=ostemplate)
        await self.create_from_spec(spec, ssh_keys)

    async def create_from_spec(self, spec: ContainerSpec, ssh_keys: str | None = None) -> None:
        await self.prepare()
        async with self._lock(spec.vmid):
            if self.exists(spec.vmid):
                raise LxcBackendError(f"CT {spec.vmid} already exists")
            started = time.monotonic()
            ct_dir = self.ct_dir(spec.vmid)
            await asyncio.to_thread(shutil.rmtree, ct_dir, True)  # leftovers of an interrupted create
            ct_dir.mkdir(parents=True)
            try:
                if spec.unprivileged:
                    base = await self.host.base_dir(shifted=True)
                    await asyncio.to_thread(self.host.check_unprivileged, ct_dir, base)
                gateway = await self.host.gateway() or "10.0.3.1"
                await asyncio.to_thread(write_guest_files, spec, self.writable_dir(spec.vmid), gateway, ssh_keys)
                await asyncio.to_thread(self._prepare_layers, ct_dir, spec.unprivileged)
                await self._write_config(spec)  # written last: its presence means "exists"
            except BaseException:
                await asyncio.to_thread(shutil.rmtree, ct_dir, True)
                raise
            log.info("lxc container created", vmid=spec.vmid, seconds=round(time.monotonic() - started, 3))

    async def _write_config(self, spec: ContainerSpec) -> None:
        ct_dir = self.ct_dir(spec.vmid)
        rootfs = f"overlay:{await self.host.base_dir(shifted=spec.unprivileged)}:{ct_dir / 'delta'}"
        if spec.unprivileged:
            # LXC would mount the overlay inside the CT's user namespace, where overlayfs cannot write its trusted.*
            # xattrs: redirect_dir falls back to nofollow and dpkg's directory renames fail with EXDEV. The host
            # mounts it instead (_mount_rootfs) and LXC gets a plain dir rootfs, which it can idmap.
            rootfs = f"dir:{ct_dir / 'rootfs'}"
        (ct_dir / "spec.json").write_text(json.dumps(asdict(spec)))
        config = render_lxc_config(spec, rootfs=rootfs, host_bridge=self.host.bridge, log_file=ct_dir / "lxc.log")
        (ct_dir / "config").write_text(config)

    def _load_spec(self, vmid: int) -> ContainerSpec:
        raw = json.loads((self.ct_dir(vmid) / "spec.json").read_text())
        raw["nets"] = tuple(NetSpec(**net) for net in raw["nets"])
        raw["nameserver"] = tuple(raw["nameserver"])
        return ContainerSpec(**raw)

    async def clone(self, vmid: int, newid: int) -> None:
        """Full clone: the writable layer is copied, the new CT gets its own MAC addresses."""
        async with self._lock(vmid):
            self._require(vmid)
            if self.exists(newid):
                raise LxcBackendError(f"CT {newid} already exists")
            spec = self._load_spec(vmid)
            source = self.writable_dir(vmid)
            target_dir = self.ct_dir(newid)
            await asyncio.to_thread(shutil.rmtree, target_dir, True)
            target_dir.mkdir(parents=True)
            try:
                await self._copy_tree(source, target_dir / source.name)
                await asyncio.to_thread(self._prepare_layers, target_dir, spec.unprivileged)
                nets = tuple(replace(net, hwaddr=default_hwaddr(newid, net.index)) for net in spec.nets)
                await self._write_config(replace(spec, vmid=newid, nets=nets))
            except BaseException:
                await asyncio.to_thread(shutil.rmtree, target_dir, True)
                raise

    async def _mount_rootfs(self, vmid: int) -> None:
        """Unprivileged CTs: mount base + delta at <ct>/rootfs from the host (see _write_config)."""
        spec = self._load_spec(vmid)
        target = self.ct_dir(vmid) / "rootfs"
        if not spec.unprivileged or await asyncio.to_thread(os.path.ismount, target):
            return
        await asyncio.to_thread(target.mkdir, exist_ok=True)
        base = await self.host.base_dir(shifted=True)
        ct_dir = self.ct_dir(vmid)
        options = f"lowerdir={base},upperdir={ct_dir / 'delta'},workdir={ct_dir / 'work'}"
        await self._checked(["mount", "-t", "overlay", "overlay", "-o", options, str(target)], f"rootfs of CT {vmid}")

    async def _unmount_rootfs(self, vmid: int) -> None:
        target = self.ct_dir(vmid) / "rootfs"
        if await asyncio.to_thread(os.path.ismount, target):
            await self._checked(["umount", str(target)], f"unmounting the rootfs of CT {vmid}")

    async def start(self, vmid: int) -> None:
        async with self._lock(vmid):
            self._require(vmid)
            if await self._state(vmid) == "RUNNING":
                raise LxcBackendError(f"CT {vmid} already running")
            await self._mount_rootfs(vmid)
            result = await run_command(self._lxc("lxc-start", vmid), time_limit=self.command_timeout)
            if result.exit_code != 0:
                raise LxcBackendError(f"startup for container '{vmid}' failed\n{self._log_tail(vmid)}".rstrip())

    async def stop(self, vmid: int) -> None:
        """PVE ``stop``: immediate, like pulling the plug."""
        async with self._lock(vmid):
            self._require(vmid)
            await self._kill(vmid)

    async def shutdown(self, vmid: int, grace: float = 60.0) -> None:
        """PVE ``shutdown``: ask systemd to power off, hard-stop after ``grace`` seconds."""
        async with self._lock(vmid):
            self._require(vmid)
            if await self._state(vmid) != "RUNNING":
                return
            argv = self._lxc("lxc-stop", vmid, "-t", str(max(1, int(grace))))
            await self._checked(argv, f"shutdown of CT {vmid}", time_limit=grace + 30)
            await self._unmount_rootfs(vmid)

    async def reboot(self, vmid: int) -> None:
        async with self._lock(vmid):
            self._require(vmid)
            await self._kill(vmid)
            await self._mount_rootfs(vmid)
            result = await run_command(self._lxc("lxc-start", vmid), time_limit=self.command_timeout)
            if result.exit_code != 0:
                raise LxcBackendError(f"restart of container '{vmid}' failed\n{self._log_tail(vmid)}".rstrip())

    async def _kill(self, vmid: int) -> None:
        if await self._state(vmid) == "RUNNING":
            await self._checked(self._lxc("lxc-stop", vmid, "-k"), f"stop of CT {vmid}")
        await self._unmount_rootfs(vmid)

    async def destroy(self, vmid: int) -> None:
        async with self._lock(vmid):
            if not self.ct_dir(vmid).exists():
                return  # idempotent, like the memory backend: the simulator also destroys after failed creates
            if self.exists(vmid):
                await self._kill(vmid)
            await self._unmount_rootfs(vmid)  # never let rmtree walk into a mounted rootfs
            # Removing the directory ourselves (not lxc-destroy) keeps the shared overlay base out of reach.
            await asyncio.to_thread(shutil.rmtree, self.ct_dir(vmid))
        self._locks.pop(vmid, None)

    async def _state(self, vmid: int) -> str:
        result = await run_command(self._lxc("lxc-info", vmid, "-sH"), time_limit=30)
        return result.stdout.decode().strip() if result.exit_code == 0 else "STOPPED"

    async def status(self, vmid: int) -> str:
        """``running`` or ``stopped`` (PVE's words)."""
        self._require(vmid)
        return "running" if await self._state(vmid) == "RUNNING" else "stopped"

    async def list_vmids(self) -> list[int]:
        if not self.lxcpath.is_dir():
            return []
        return sorted(int(p.name) for p in self.lxcpath.iterdir() if p.name.isdigit() and (p / "config").is_file())

    async def stats(self, vmid: int) -> dict[str, Any]:
        """Live figures for status/current and rrddata: pid, cpu seconds, memory bytes, network counters."""
        self._require(vmid)
        result = await run_command(self._lxc("lxc-info", vmid, "-H"), time_limit=30)
        info: dict[str, Any] = {"status": "stopped", "pid": None, "cpu_seconds": 0.0, "mem": 0, "netin": 0, "netout": 0}
        for line in result.stdout.decode(errors="replace").splitlines():
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key == "State":
                info["status"] = "running" if value == "RUNNING" else "stopped"
            elif key == "PID" and value.isdigit():
                info["pid"] = int(value)
            elif key == "CPU use" and value.isdigit():
                info["cpu_seconds"] = int(value) / 1e9
            elif key == "Memory use" and value.isdigit():
                info["mem"] = int(value)
            elif key == "TX bytes" and value.isdigit():
                info["netin"] += int(value)  # host-side veth: its TX is what the CT received
            elif key == "RX bytes" and value.isdigit():
                info["netout"] += int(value)
        return info

    # ---------------------------------------------------------------- inside the container
    async def _attach(
        self, vmid: int, argv: Sequence[str], env: Mapping[str, str] | None
    ) -> tuple[list[str], dict[str, str]]:
        self._require(vmid)
        if not argv:
            raise LxcBackendError("no command given")
        if await self._state(vmid) != "RUNNING":
            raise ContainerNotRunningError(f"CT {vmid} not running")
        attach = self._lxc("lxc-attach", vmid, "--clear-env")
        attach += ["--set-var", f"PATH={GUEST_PATH}", "--set-var", "HOME=/root", "--set-var", "LANG=C.UTF-8"]
        child_env = {"PATH": os.environ.get("PATH", GUEST_PATH)}
        for name, value in (env or {}).items():
            if not _ENV_NAME_RE.match(name):
                raise LxcBackendError(f"invalid environment variable name {name!r}")
            attach += ["--keep-var", name]  # the value reaches the CT through lxc-attach's environment only
            child_env[name] = value
        return [*attach, "--", *argv], child_env

    async def exec(
        self,
        vmid: int,
        argv: list[str],
        stdin: AsyncIterator[bytes] | None,
        stdout: Output,
        stderr: Output,
        *,
        env: Mapping[str, str] | None = None,
        time_limit: float | None = None,
    ) -> int:
        """``pct exec``: run argv in the CT as root via ``lxc-attach``, streaming; returns the command's exit code."""
        command, child_env = await self._attach(vmid, argv, env)
        result = await run_command(
            command,
            time_limit=time_limit or self.exec_timeout,
            stdin=stdin,
            env=child_env,
            stdout_sink=stdout,
            stderr_sink=stderr,
        )
        return result.exit_code

    async def run(
        self,
        vmid: int,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
        time_limit: float | None = None,
    ) -> ExecResult:
        """Like :meth:`exec` but collects the output."""
        command, child_env = await self._attach(vmid, argv, env)
        return await run_command(command, time_limit=time_limit or self.exec_timeout, stdin=stdin, env=child_env)

    async def push(
        self, vmid: int, source: Path, dest: str, perms: int | None, user: str | None, group: str | None
    ) -> None:
        """``pct push``: write a host file into the running CT; names resolve against the CT's own passwd/group."""
        if not dest.startswith("/"):
            raise LxcBackendError(f"destination must be an absolute path: {dest!r}")
        if await self._state(vmid) != "RUNNING" and self.exists(vmid):
            raise ContainerNotRunningError("can only push files to a running CT")
        data = await asyncio.to_thread(source.read_bytes)
        # Positional parameters, never interpolated: a temp file beside the target, then an atomic rename.
        script = 'set -e; t="$1.pct-push.$$"; cat > "$t"; chown "$3:$4" "$t"; chmod "$2" "$t"; mv -f "$t" "$1"'
        mode = f"{0o644 if perms is None else perms:o}"
        argv = ["/bin/sh", "-c", script, "pct-push", dest, mode, user or "0", group or "0"]
        result = await self.run(vmid, argv, stdin=data)
        if result.exit_code != 0:
            raise LxcBackendError(f"failed to push {dest}: {result.stderr.decode(errors='replace').strip()}")

    async def pull(self, vmid: int, source: str, dest: Path) -> None:
        """``pct pull``: copy a file out of the running CT; the local copy keeps the file's permission bits."""
        pulled = await self.read_file(vmid, source)

        def write() -> None:
            dest.write_bytes(pulled.data)
            dest.chmod(pulled.mode & 0o777)

        await asyncio.to_thread(write)

    async def read_file(self, vmid: int, source: str) -> PulledFile:
        if not source.startswith("/"):
            raise LxcBackendError(f"source must be an absolute path: {source!r}")
        if await self._state(vmid) != "RUNNING" and self.exists(vmid):
            raise ContainerNotRunningError("can only pull files from a running CT")
        meta = await self.run(vmid, ["stat", "-L", "-c", "%f %u %g", "--", source])
        if meta.exit_code != 0:
            raise LxcBackendError(f"failed to open {source}: {meta.stderr.decode(errors='replace').strip()}")
        raw_mode, uid, gid = meta.stdout.decode().split()
        mode = int(raw_mode, 16)
        if (mode & 0o170000) != 0o100000:
            raise LxcBackendError(f"{source} is not a regular file")
        content = await self.run(vmid, ["cat", "--", source])
        if content.exit_code != 0:
            raise LxcBackendError(f"failed to read {source}: {content.stderr.decode(errors='replace').strip()}")
        return PulledFile(content.stdout, mode & 0o7777, int(uid), int(gid))

    async def interfaces(self, vmid: int) -> list[dict[str, str]]:
        """PVE's ``/lxc/{vmid}/interfaces`` shape: name, hwaddr, inet, inet6 (first address of each family)."""
        result = await self.run(vmid, ["ip", "-j", "addr", "show"])
        if result.exit_code != 0:
            raise LxcBackendError(f"reading interfaces failed: {result.stderr.decode(errors='replace').strip()}")
        out: list[dict[str, str]] = []
        for link in json.loads(result.stdout or b"[]"):
            entry = {"name": link.get("ifname", ""), "hwaddr": link.get("address", "00:00:00:00:00:00")}
            for addr in link.get("addr_info", []):
                key = "inet" if addr.get("family") == "inet" else "inet6"
                entry.setdefault(key, f"{addr.get('local')}/{addr.get('prefixlen')}")
            out.append(entry)
        return out

    async def wait_for_ipv4(self, vmid: int, within: float = 30.0) -> str:
        """The first non-loopback IPv4 address once the CT has one (DHCP takes a few seconds)."""
        deadline = time.monotonic() + within
        while True:
            result = await run_command(self._lxc("lxc-info", vmid, "-iH"), time_limit=30)
            for line in result.stdout.decode().split():
                if "." in line and not line.startswith("127."):
                    return line
            if time.monotonic() > deadline:
                raise LxcBackendError(f"CT {vmid} got no IPv4 address within {within:g} s")
            await asyncio.sleep(0.1)

    # ---------------------------------------------------------------- snapshots
    def _snapshot_dir(self, vmid: int, name: str) -> Path:
        if not _SNAPSHOT_RE.match(name):
            raise LxcBackendError(f"invalid snapshot name {name!r}")
        return self.ct_dir(vmid) / "snapshots" / name

    async def snapshot(self, vmid: int, name: str) -> None:
        """Copy the writable layer; a running CT is frozen meanwhile so the copy is consistent."""
        async with self._lock(vmid):
            self._require(vmid)
            target = self._snapshot_dir(vmid, name)
            if target.exists():
                raise LxcBackendError(f"snapshot name '{name}' already used")
            target.parent.mkdir(exist_ok=True)
            running = await self._state(vmid) == "RUNNING"
            if running:
                await self._checked(self._lxc("lxc-freeze", vmid), f"freeze of CT {vmid}")
            try:
                await self._copy_tree(self.writable_dir(vmid), target)
            finally:
                if running:
                    await self._checked(self._lxc("lxc-unfreeze", vmid), f"unfreeze of CT {vmid}")

    async def rollback(self, vmid: int, name: str) -> None:
        """Restore the writable layer; the CT is left stopped (the caller starts it if asked to)."""
        async with self._lock(vmid):
            self._require(vmid)
            source = self._snapshot_dir(vmid, name)
            if not source.is_dir():
                raise LxcBackendError(f"snapshot '{name}' does not exist")
            await self._kill(vmid)
            writable = self.writable_dir(vmid)
            await asyncio.to_thread(shutil.rmtree, writable)
            await self._copy_tree(source, writable)
            await asyncio.to_thread(shutil.rmtree, self.ct_dir(vmid) / "work", True)  # stale overlay state
            await asyncio.to_thread(self._prepare_layers, self.ct_dir(vmid), self._load_spec(vmid).unprivileged)

    async def delete_snapshot(self, vmid: int, name: str) -> None:
        async with self._lock(vmid):
            self._require(vmid)
            target = self._snapshot_dir(vmid, name)
            if not target.is_dir():
                raise LxcBackendError(f"snapshot '{name}' does not exist")
            await asyncio.to_thread(shutil.rmtree, target)

    async def _copy_tree(self, source: Path, target: Path) -> None:
        # cp keeps owners, modes, xattrs (overlay whiteouts/opaque dirs) and reflinks where the fs can.
        argv = ["cp", "-a", "--reflink=auto", "--", str(source), str(target)]
        await self._checked(argv, f"copying {source.name}", time_limit=600)

    # ---------------------------------------------------------------- shutdown
    async def close(self) -> None:
        """Stop and remove every container, unless ``keep`` (debugging) is set. The shared base stays cached."""
        self._closed = True
        if self.keep:
            log.info("keeping lxc containers", lxcpath=str(self.lxcpath))
            return
        for vmid in await self.list_vmids():
            try:
                await self.destroy(vmid)
            except LxcBackendError as exc:
                log.warning("lxc container cleanup failed", vmid=vmid, error=str(exc))

    def _cleanup_at_exit(self) -> None:
        """Safety net when the simulator exits without :meth:`close`: real CTs must not outlive it."""
        if self._closed or self.keep or not self.lxcpath.is_dir():
            return
        for ct_dir in self.lxcpath.iterdir():
            if ct_dir.name.isdigit() and (ct_dir / "config").is_file():
                argv = ["lxc-stop", "-P", str(self.lxcpath), "-n", ct_dir.name, "-k"]
                subprocess.run(argv, capture_output=True, timeout=60, check=False)
                if os.path.ismount(ct_dir / "rootfs"):
                    umount = ["umount", "-l", str(ct_dir / "rootfs")]
                    subprocess.run(umount, capture_output=True, timeout=60, check=False)
                shutil.rmtree(ct_dir, ignore_errors=True)
