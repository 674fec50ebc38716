"""Container backends of the simulator. ``memory``: a sandbox folder per container with shimmed tools.

Sandbox layout (``<state>/containers/<vmid>/``): ``root/`` is the container's ``/`` (``CT_ROOT``); inside it
``.pvesim/bin`` holds the shims (apt-get, apt, dpkg, systemctl, ss, useradd, usermod, chpasswd, id, curl, wget, ip,
getent: bash clients whose calls the simulator's process serves, see ``shimserver``) and ``.pvesim/calls.jsonl`` /
``.pvesim/state.json`` their log and state. ``snapshots/<name>/`` are copies of
``root/``.

Isolation: as root with ``unshare`` and ``nsenter`` available, ``pct exec`` runs the command in the container's
private mount namespace chrooted into ``root/`` (host ``/usr``, ``/bin``, ``/lib*`` bind-mounted read-only, a minimal
``/dev`` of null/zero/full/random/urandom/tty, ``/proc``), so ``/etc/foo`` inside a script really is
``root/etc/foo``. Like a CT's, that namespace is made once (at the first exec after a start: ``unshare`` runs the
mount set-up, the simulator keeps descriptors of its namespace, root and ``/root``, and the set-up process exits)
and every exec enters it with ``nsenter`` — one process instead of a dozen per command. It is dropped on stop,
rollback and destroy. The PID namespace is the host's (background daemons outlive the exec, as in a CT), so a root
command can still see and signal host processes.
Otherwise ("prefix" mode) the command runs on the host with cwd and HOME inside the sandbox and
``CT_ROOT`` pointing at it; absolute paths are then *not* remapped (only ``pct push/pull`` and the shims are).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Protocol

from lxc_manager.core.aio import PerLoop
from lxc_manager.core.logging import get_logger
from lxc_manager.pvesim.shimserver import SHIMMED, ShimServer, client_script

log = get_logger(__name__)

CT_PATH = "/.pvesim/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
Output = Callable[[bytes], Awaitable[None]]
# Run by ``unshare`` in the container's new mount namespace, after ``_prepare_root`` made the folders, links and
# device nodes in the container's root (plain files there, so done in the simulator's process: a dozen fewer
# ``mkdir``/``ln``/``readlink``/``mknod`` processes per start). Only the mounts need the namespace.
_CHROOT_SETUP = r"""
set -e
R="$1"; shift
for d in usr bin sbin lib lib32 lib64 libx32; do
  if [ ! -L "/$d" ] && [ -d "/$d" ]; then
    mount --rbind "/$d" "$R/$d"; mount -o remount,bind,ro "$R/$d" 2>/dev/null || true
  fi
done
mount -t proc proc "$R/proc"
exec chroot "$R" "$@"
"""
_HOST_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
# Only the harmless character devices, not the host's /dev (like an LXC container's minimal /dev).
_DEVICES = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0))


def _prepare_root(root: Path) -> None:
    """The host's system folders as links (where the host has links) or mount points, ``/dev``, ``/proc``, ``/tmp``."""
    for name in _HOST_DIRS:
        host, target = Path("/") / name, root / name
        if host.is_symlink():
            if not target.exists() and not target.is_symlink():
                target.symlink_to(os.readlink(host))
        elif host.is_dir():
            target.mkdir(parents=True, exist_ok=True)
    for name in ("dev", "proc", "tmp"):
        (root / name).mkdir(parents=True, exist_ok=True)
    for name, major, minor in _DEVICES:
        node = root / "dev" / name
        if not node.exists():
            os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(major, minor))
            os.chmod(node, 0o666)  # noqa: S103  # device nodes, as ``mknod -m 666`` (not narrowed by the umask)
    fd = root / "dev" / "fd"
    if not fd.exists() and not fd.is_symlink():
        fd.symlink_to("/proc/self/fd")


# The set-up process of a container's namespace: mounts done, it reports its pid from inside the chroot (cwd
# ``/root``) and waits for the simulator to have opened its namespace descriptors (stdin closed).
_HOLDER = ["/bin/sh", "-c", 'cd /root 2>/dev/null || cd /; echo "$$"; read -r _ || :']


class _Namespace:
    """Descriptors of one container's mount namespace, its root and ``/root`` (passed to ``nsenter``)."""

    def __init__(self, pid: int) -> None:
        opened: list[int] = []
        try:
            opened.append(os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC))
            opened.append(os.open(f"/proc/{pid}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
            opened.append(os.open(f"/proc/{pid}/cwd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
        except OSError:
            for fd in opened:
                os.close(fd)
            raise
        self.fds = tuple(opened)
        self.closed = False

    def argv(self) -> list[str]:
        mnt, root, cwd = (f"/proc/self/fd/{fd}" for fd in self.fds)
        return ["nsenter", f"--mount={mnt}", f"--root={root}", f"--wd={cwd}", "--"]

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            for fd in self.fds:
                os.close(fd)


def _close_namespaces(namespaces: dict[int, _Namespace]) -> None:
    for namespace in namespaces.values():
        namespace.close()
    namespaces.clear()


class BackendError(Exception):
    """A backend operation failed (message is shown to the caller, like a PVE ``die``)."""


class ContainerBackend(Protocol):
    """What the simulator needs from a container runtime (the memory sandbox, or real LXC in ``backends/lxc.py``).

    Optional: ``async interfaces(vmid) -> [{name, hwaddr, inet?, inet6?}]``. When a backend has it (real LXC), the
    ``/interfaces`` endpoint reports what the CT really has instead of the simulated DHCP lease."""

    async def create(
        self,
        vmid: int,
        ostemplate: str,
        hostname: str,
        ssh_keys: str | None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        """``params``: the CT's PVE config as created (net0 with hwaddr, rootfs with its volume, memory, …)."""

    async def start(self, vmid: int) -> None: ...
    async def stop(self, vmid: int) -> None: ...
    async def destroy(self, vmid: int) -> None: ...
    async def exec(
        self, vmid: int, argv: list[str], stdin: AsyncIterator[bytes] | None, stdout: Output, stderr: Output
    ) -> int: ...
    async def push(self, vmid: int, source: Path, dest: str, perms: int | None, user: str | None,
                   group: str | None) -> None: ...  # fmt: skip
    async def pull(self, vmid: int, source: str, dest: Path) -> None: ...
    async def snapshot(self, vmid: int, name: str) -> None: ...
    async def rollback(self, vmid: int, name: str) -> None: ...
    async def delete_snapshot(self, vmid: int, name: str) -> None: ...
    async def clone(self, vmid: int, newid: int) -> None: ...


def _os_release(ostemplate: str) -> str:
    name = ostemplate.rsplit("/", 1)[-1]
    distro, _, rest = name.partition("-")
    version = rest.split("-")[0].split("_")[0]
    pretty = {"debian": "Debian GNU/Linux", "ubuntu": "Ubuntu", "alpine": "Alpine Linux"}.get(distro, distro)
    return f'PRETTY_NAME="{pretty} {version}"\nNAME="{pretty}"\nVERSION_ID="{version}"\nID={distro}\n'


def _copy_root(source: Path, target: Path) -> None:
    """Copy a sandbox root without ``/dev`` and ``/proc``: reading a device node like ``/dev/zero`` never ends."""

    def skip(folder: str, names: list[str]) -> set[str]:
        return {"dev", "proc"} & set(names) if Path(folder) == source else set()

    shutil.copytree(source, target, symlinks=True, ignore=skip)


class MemoryBackend:
    """Sandbox folders + shims; see the module docstring for the isolation modes."""

    def __init__(self, base: Path, isolation: str | None = None) -> None:
        self.base = base
        # The cluster state lives in memory only, so sandboxes left by an earlier run belong to no container.
        shutil.rmtree(self.base, ignore_errors=True)
        self.base.mkdir(parents=True, exist_ok=True)
        chosen = isolation or os.environ.get("LXCM_PVESIM_ISOLATION")
        if chosen is None:
            usable = os.geteuid() == 0 and all(shutil.which(tool) for tool in ("unshare", "nsenter", "chroot"))
            chosen = "chroot" if usable else "prefix"
        self.isolation = chosen
        self._shim_servers: PerLoop[str, ShimServer] = PerLoop()
        self._namespaces: dict[int, _Namespace] = {}
        self._namespace_locks: dict[int, asyncio.Lock] = {}
        weakref.finalize(self, _close_namespaces, self._namespaces)

    def close(self) -> None:
        """Release every container namespace (processes still inside keep theirs) and stop serving shim calls."""
        _close_namespaces(self._namespaces)
        for server in self._shim_servers.values():
            server.close()

    def _shim_root(self, vmid: int) -> Path | None:
        root = self.root(vmid)
        return root if root.is_dir() else None

    async def _shim_server(self) -> ShimServer:
        """The listener the sandboxes' shim clients call (one per event loop, started on first use)."""
        server = self._shim_servers.get("shims", lambda: ShimServer(self._shim_root))
        await server.ensure_started()
        return server

    def _drop_namespace(self, vmid: int) -> None:
        namespace = self._namespaces.pop(vmid, None)
        if namespace is not None:
            namespace.close()

    async def _namespace(self, vmid: int, root: Path) -> _Namespace:
        lock = self._namespace_locks.setdefault(vmid, asyncio.Lock())
        async with lock:
            namespace = self._namespaces.get(vmid)
            if namespace is None or namespace.closed:
                namespace = self._namespaces[vmid] = await self._make_namespace(vmid, root)
            return namespace

    async def _make_namespace(self, vmid: int, root: Path) -> _Namespace:
        await asyncio.to_thread(_prepare_root, root)
        proc = await asyncio.create_subprocess_exec(
            "unshare", "--mount", "--fork", "--", "/bin/sh", "-c", _CHROOT_SETUP, "sh", str(root), *_HOLDER,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        try:
            line = await proc.stdout.readline()
            if not line.strip().isdigit():
                error = (await proc.stderr.read()).decode(errors="replace").strip()
                raise BackendError(f"container {vmid}: cannot set up its namespace: {error or 'no pid'}")
            return _Namespace(int(line))
        finally:
            proc.stdin.close()
            await proc.wait()

    def ct_dir(self, vmid: int) -> Path:
        return self.base / str(vmid)

    def root(self, vmid: int) -> Path:
        return self.ct_dir(vmid) / "root"

    def resolve(self, vmid: int, ct_path: str) -> Path:
        """A path inside the CT → host path under its root; refuses escapes through ``..`` or symlinks."""
        root = self.root(vmid).resolve()
        candidate = (root / ct_path.lstrip("/")).resolve()
        if candidate != root and root not in candidate.parents:
            raise BackendError(f"path '{ct_path}' leaves the container")
        return candidate

    async def create(
        self, vmid: int, ostemplate: str, hostname: str, ssh_keys: str | None,
        params: Mapping[str, object] | None = None,
    ) -> None:  # fmt: skip
        self._drop_namespace(vmid)
        await asyncio.to_thread(self._create, vmid, ostemplate, hostname, ssh_keys)

    def _create(self, vmid: int, ostemplate: str, hostname: str, ssh_keys: str | None) -> None:
        root = self.root(vmid)
        if self.ct_dir(vmid).exists():
            shutil.rmtree(self.ct_dir(vmid))
        for folder in ("etc", "root", "tmp", "var/log", "home", "run", ".pvesim/bin"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        (root / "etc/os-release").write_text(_os_release(ostemplate))
        (root / "etc/hostname").write_text(hostname + "\n")
        (root / "etc/hosts").write_text(f"127.0.0.1 localhost\n127.0.1.1 {hostname}\n")
        (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/:/bin/false\n")
        (root / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")
        if ssh_keys:
            (root / "root/.ssh").mkdir(mode=0o700, exist_ok=True)
            (root / "root/.ssh/authorized_keys").write_text(ssh_keys.rstrip("\n") + "\n")
        meta = root / ".pvesim"
        (meta / "state.json").write_text(json.dumps({"packages": {}, "services": {}, "running": False}))
        (meta / "calls.jsonl").touch()
        for name in SHIMMED:
            wrapper = meta / "bin" / name
            wrapper.write_text(client_script(name))
            wrapper.chmod(0o755)

    def _require(self, vmid: int) -> Path:
        root = self.root(vmid)
        if not root.is_dir():
            raise BackendError(f"container {vmid} has no sandbox")
        return root

    def _update_services(self, vmid: int, running: bool) -> None:
        path = self._require(vmid) / ".pvesim/state.json"
        state = json.loads(path.read_text())
        for svc in state.get("services", {}).values():
            svc["active"] = bool(running and svc.get("enabled"))
        state["running"] = running
        path.write_text(json.dumps(state, indent=1, sort_keys=True))

    async def start(self, vmid: int) -> None:
        # Booting activates enabled units; stopping deactivates everything (like systemd in a real CT).
        self._drop_namespace(vmid)
        await asyncio.to_thread(self._update_services, vmid, True)

    def _set_network(self, vmid: int, addresses: list[dict[str, str]]) -> None:
        path = self._require(vmid) / ".pvesim/state.json"
        state = json.loads(path.read_text())
        state["network"] = addresses
        path.write_text(json.dumps(state, indent=1, sort_keys=True))

    async def network_up(self, vmid: int, addresses: list[dict[str, str]]) -> None:
        """The CT's addresses after boot (``[{name, inet, gateway}]``), shown by the ``ip`` shim."""
        await asyncio.to_thread(self._set_network, vmid, addresses)

    async def stop(self, vmid: int) -> None:
        self._drop_namespace(vmid)
        await asyncio.to_thread(self._update_services, vmid, False)

    async def destroy(self, vmid: int) -> None:
        self._drop_namespace(vmid)
        await asyncio.to_thread(shutil.rmtree, self.ct_dir(vmid), True)

    async def _command(
        self, vmid: int, argv: list[str]
    ) -> tuple[list[str], dict[str, str], str | None, tuple[int, ...]]:
        """argv, environment, cwd and the descriptors to pass (chroot: the container's namespace)."""
        root = self._require(vmid)
        shims = (await self._shim_server()).environment()
        if self.isolation == "chroot":
            env = {"PATH": CT_PATH, "HOME": "/root", "CT_ROOT": "/", "CT_VMID": str(vmid), "LANG": "C.UTF-8",
                   "TERM": "dumb", **shims}  # fmt: skip
            namespace = await self._namespace(vmid, root)
            return [*namespace.argv(), *argv], env, None, namespace.fds
        path = f"{root}/.pvesim/bin:" + os.environ.get("PATH", "/usr/bin:/bin")
        env = {"PATH": path, "HOME": str(root / "root"), "CT_ROOT": str(root), "CT_VMID": str(vmid),
               "LANG": "C.UTF-8", "TERM": "dumb", **shims}  # fmt: skip
        return argv, env, str(root / "root"), ()

    async def exec(
        self, vmid: int, argv: list[str], stdin: AsyncIterator[bytes] | None, stdout: Output, stderr: Output
    ) -> int:
        command, env, cwd, fds = await self._command(vmid, argv)
        try:
            # No await between building the command and the fork: the namespace descriptors are still open.
            proc = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=cwd,
                pass_fds=fds,
            )
        except FileNotFoundError:
            await stderr(f'lxc-attach: {vmid}: Failed to exec "{argv[0]}": No such file or directory\n'.encode())
            return 127

        async def pump(stream: asyncio.StreamReader | None, sink: Output) -> None:
            assert stream is not None
            while chunk := await stream.read(65536):
                await sink(chunk)

        async def feed() -> None:
            assert proc.stdin is not None and stdin is not None
            try:
                async for chunk in stdin:
                    proc.stdin.write(chunk)
                    await proc.stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                proc.stdin.close()

        feeder = asyncio.create_task(feed()) if stdin is not None else None
        try:
            await asyncio.gather(pump(proc.stdout, stdout), pump(proc.stderr, stderr))
            return await proc.wait()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            if feeder is not None:
                feeder.cancel()

    def _ids(self, vmid: int, user: str | None, group: str | None) -> tuple[int, int]:
        def lookup(filename: str, name: str | None, what: str) -> int:
            if name is None:
                return -1
            if name.isdigit():
                return int(name)
            for line in (self.root(vmid) / "etc" / filename).read_text().splitlines():
                parts = line.split(":")
                if parts[0] == name and len(parts) > 2:
                    return int(parts[2])
            raise BackendError(f"failed to get {what} for: {name}")

        return lookup("passwd", user, "uid"), lookup("group", group, "gid")

    async def push(
        self, vmid: int, source: Path, dest: str, perms: int | None, user: str | None, group: str | None
    ) -> None:
        target = self.resolve(vmid, dest)
        uid, gid = self._ids(vmid, user, group)
        if not target.parent.is_dir():
            raise BackendError(f"failed to create file: {dest}: No such file or directory")
        await asyncio.to_thread(shutil.copyfile, source, target)
        if perms is not None:
            target.chmod(perms)
        if (uid, gid) != (-1, -1) and os.geteuid() == 0:
            os.chown(target, uid, gid)

    async def pull(self, vmid: int, source: str, dest: Path) -> None:
        origin = self.resolve(vmid, source)
        if not origin.is_file():
            raise BackendError(f"failed to open {source}: No such file or directory")
        await asyncio.to_thread(shutil.copyfile, origin, dest)

    async def snapshot(self, vmid: int, name: str) -> None:
        target = self.ct_dir(vmid) / "snapshots" / name
        await asyncio.to_thread(_copy_root, self._require(vmid), target)

    async def rollback(self, vmid: int, name: str) -> None:
        source = self.ct_dir(vmid) / "snapshots" / name
        if not source.is_dir():
            raise BackendError(f"snapshot '{name}' has no saved root")

        def swap() -> None:
            shutil.rmtree(self.root(vmid), ignore_errors=True)
            _copy_root(source, self.root(vmid))

        self._drop_namespace(vmid)  # its mounts sit on the root being replaced
        await asyncio.to_thread(swap)

    async def delete_snapshot(self, vmid: int, name: str) -> None:
        await asyncio.to_thread(shutil.rmtree, self.ct_dir(vmid) / "snapshots" / name, True)

    async def clone(self, vmid: int, newid: int) -> None:
        self._drop_namespace(newid)

        def copy() -> None:
            shutil.rmtree(self.ct_dir(newid), ignore_errors=True)
            _copy_root(self._require(vmid), self.root(newid))

        await asyncio.to_thread(copy)

    def calls(self, vmid: int) -> list[dict[str, object]]:
        """The shim call log of a container (for tests and ``/_sim/state``)."""
        path = self.root(vmid) / ".pvesim/calls.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
