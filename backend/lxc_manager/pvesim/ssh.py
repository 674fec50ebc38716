"""The SSH side of each simulated node: an asyncssh server that runs ``pct`` like a PVE host does.

Mapping: every node listens on its own port (``connection.json`` → ``ssh.nodes``), user ``root``, key auth with the
generated client key only. SFTP is served chrooted to the node's scratch dir ``<state>/nodes/<node>/``, and
``pct push`` reads its SRC (``pct pull`` writes its DST) under that same dir, so "upload with SFTP, then
``pct push``" works as on a real node. Command strings are split with ``shlex`` and never passed to a shell.

Supported: ``pct exec VMID [--] CMD…``, ``pct push VMID SRC DST [--perms M] [--user U] [--group G]``,
``pct pull VMID SRC DST [...]``, ``pct status VMID [--verbose]``, ``pct list``; plus ``pveversion`` and
``mkdir/rm/test/cat/true`` on paths inside the scratch dir, and ``/bin/sh`` (host hooks: see ``_node_shell``).
CLI failures print PVE's message and exit like an
uncaught Perl ``die``: with errno when set (a missing CT config: ENOENT, 2), else 255; ``pct exec`` exits with
the command's status; unknown commands exit 127.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncssh

from lxc_manager.core.logging import get_logger
from lxc_manager.pvesim.backend import BackendError
from lxc_manager.pvesim.backends.lxc_process import run_command
from lxc_manager.pvesim.core import PVE_VERSION, PveError, Simulator
from lxc_manager.pvesim.state import Guest

log = get_logger(__name__)

VMID_RE = re.compile(r"^[1-9][0-9]{2,8}$")
# Node-side commands besides pct, confined to the SFTP scratch dir (a real node has a full root shell).
NODE_COMMANDS = frozenset({"pveversion", "true", "mkdir", "rm", "test", "cat"})
NODE_SHELLS = frozenset({"/bin/sh", "sh"})
# Runs in the node shell's own mount namespace: the scratch dir's tmp becomes /tmp, then the command.
_MOUNT_SCRATCH_TMP = 'mount --bind "$1" /tmp && shift && exec "$@"'
_NODE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
_NODE_SHELL_TIME_LIMIT_S = 3600.0
PCT_PM = "/usr/share/perl5/PVE/CLI/pct.pm"
USAGE = {
    "exec": "pct exec <vmid> [<extra-args>]",
    "push": "pct push <vmid> <file> <destination> [OPTIONS]",
    "pull": "pct pull <vmid> <path> <destination> [OPTIONS]",
    "status": "pct status <vmid> [OPTIONS]",
    "list": "pct list",
}


class CliFailure(Exception):
    def __init__(self, message: str, code: int = 255) -> None:
        super().__init__(message)
        self.message = message if message.endswith("\n") else message + "\n"
        self.code = code


class PctCommand:
    """One exec request on one node's SSH connection."""

    def __init__(self, sim: Simulator, node: str, scratch: Path, process: asyncssh.SSHServerProcess[bytes]) -> None:
        self.sim = sim
        self.node = node
        self.scratch = scratch
        self.process = process

    async def _out(self, data: bytes) -> None:
        self.process.stdout.write(data)
        await self.process.stdout.drain()  # back-pressure: a slow client slows the command, memory stays flat

    async def _err(self, data: bytes) -> None:
        self.process.stderr.write(data)
        await self.process.stderr.drain()

    def _scratch_path(self, path: str) -> Path:
        root = self.scratch.resolve()
        candidate = (root / path.lstrip("/")).resolve()
        if candidate != root and root not in candidate.parents:
            raise CliFailure(f"failed to open {path} for reading")
        return candidate

    def _guest(self, vmid: str, sub: str) -> Guest:
        if not VMID_RE.match(vmid):
            raise CliFailure(
                "400 Parameter verification failed.\nvmid: invalid format - value does not look like a valid VM ID\n"
                f"\n{USAGE[sub]}\n"
            )
        node = self.sim.require_node(self.node)
        try:
            return self.sim.require_guest(node, int(vmid))
        except PveError as exc:
            # An uncaught Perl die exits with $! when it is set: ENOENT (2) from the failed config read.
            raise CliFailure(exc.message, code=2) from None

    @staticmethod
    def _options(args: list[str], names: set[str], positional: int, sub: str) -> tuple[list[str], dict[str, str]]:
        values: dict[str, str] = {}
        rest: list[str] = []
        index = 0
        while index < len(args):
            arg = args[index]
            name = arg.lstrip("-")
            if arg.startswith("-") and name in names:
                if index + 1 >= len(args):
                    raise CliFailure(f"400 Parameter verification failed.\n{name}: missing value\n\n{USAGE[sub]}\n")
                values[name] = args[index + 1]
                index += 2
                continue
            if arg.startswith("-") and arg != "-":
                raise CliFailure(f"Unknown option: {name}\n400 unable to parse option\n{USAGE[sub]}\n")
            rest.append(arg)
            index += 1
        if len(rest) != positional:
            raise CliFailure(f"400 not enough arguments\n{USAGE[sub]}\n" if len(rest) < positional
                             else f"400 too many arguments\n{USAGE[sub]}\n")  # fmt: skip
        return rest, values

    async def run(self) -> int:
        command = self.process.command or ""
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            await self._err(f"bash: -c: line 1: {exc}\n".encode())
            return 2
        if not argv:
            await self._err(b"interactive shells are not supported by the simulator\n")
            return 1
        if argv[0] in NODE_COMMANDS:
            return await self._node_command(argv)
        if argv[0] in NODE_SHELLS:
            return await self._node_shell(argv)
        if argv[0] not in {"pct", "/usr/sbin/pct"}:
            await self._err(f"bash: line 1: {argv[0]}: command not found\n".encode())
            return 127
        try:
            return await self._pct(argv[1:])
        except CliFailure as exc:
            await self._err(exc.message.encode())
            return exc.code
        except BackendError as exc:
            await self._err(f"{exc}\n".encode())
            return 255

    async def _node_command(self, argv: list[str]) -> int:
        """The few node-side helpers a provisioning run needs around SFTP uploads, confined to the scratch dir."""
        name, args = argv[0], argv[1:]
        paths = [a for a in args if not a.startswith("-")]
        if name == "pveversion":
            await self._out(f"pve-manager/{PVE_VERSION['version']}/{PVE_VERSION['repoid']} "
                            "(running kernel: 6.17.2-1-pve)\n".encode())  # fmt: skip
            return 0
        if name == "true":
            return 0
        try:
            targets = [self._scratch_path(p) for p in paths]
        except CliFailure:
            await self._err(f"{name}: outside the simulator's node scratch directory\n".encode())
            return 1
        if name == "mkdir":
            for target in targets:
                target.mkdir(parents="-p" in args, exist_ok="-p" in args)
            return 0
        if name == "rm":
            if any(t == self.scratch.resolve() for t in targets):
                await self._err(b"rm: it is dangerous to operate recursively on '/'\n"
                                b"rm: use --no-preserve-root to override this failsafe\n")  # fmt: skip
                return 1
            code = 0
            for target, shown in zip(targets, paths, strict=True):
                if target.is_dir() and any(flag in args for flag in ("-r", "-rf", "-fr", "-R")):
                    shutil.rmtree(target)
                elif target.is_file() or target.is_symlink():
                    target.unlink()
                elif "-f" not in args and "-rf" not in args and "-fr" not in args:
                    await self._err(f"rm: cannot remove '{shown}': No such file or directory\n".encode())
                    code = 1
            return code
        if name == "test" and len(args) == 2 and args[0] in {"-e", "-f", "-d"}:
            target = targets[0]
            found = {"-e": target.exists(), "-f": target.is_file(), "-d": target.is_dir()}[args[0]]
            return 0 if found else 1
        if name == "cat":
            for target, shown in zip(targets, paths, strict=True):
                if not target.is_file():
                    await self._err(f"cat: {shown}: No such file or directory\n".encode())
                    return 1
                await self._out(target.read_bytes())
            return 0
        await self._err(f"{name}: unsupported arguments in the simulator\n".encode())
        return 2

    async def _node_shell(self, argv: list[str]) -> int:
        """A shell command on the node, as host hooks run: on the simulator's machine, as its user (mapped to root
        in a user namespace when that is not root), in a private mount namespace where the node's scratch ``tmp``
        is ``/tmp`` — so the files the client uploaded by SFTP are where it names them, and what a hook leaves in
        ``/tmp`` stays in the scratch dir. The simulator plays the node: nothing else is confined."""
        tmp = self.scratch / "tmp"
        tmp.mkdir(exist_ok=True)
        user = [] if os.geteuid() == 0 else ["--map-root-user"]
        command = ["unshare", *user, "--mount", "--propagation", "private", "/bin/sh", "-c", _MOUNT_SCRATCH_TMP,
                   "pvesim-node", str(tmp), *argv]  # fmt: skip
        result = await run_command(command, time_limit=_NODE_SHELL_TIME_LIMIT_S, stdin=self._stdin(),
                                   env={**_NODE_ENV, "HOME": str(self.scratch)}, stdout_sink=self._out,
                                   stderr_sink=self._err)  # fmt: skip
        return result.exit_code

    async def _pct(self, args: list[str]) -> int:
        if not args:
            raise CliFailure("ERROR: no command specified\nUSAGE: pct <COMMAND> [ARGS] [OPTIONS]\n")
        sub, rest = args[0], args[1:]
        if sub == "list":
            return await self._list()
        if sub == "status":
            positional, opts = self._options(rest, {"verbose"}, 1, sub)
            guest = self._guest(positional[0], sub)
            await self._out(f"status: {guest.status}\n".encode())
            return 0
        if sub == "exec":
            return await self._exec(rest)
        if sub in {"push", "pull"}:
            positional, opts = self._options(rest, {"perms", "user", "group"}, 3, sub)
            return await self._copy(sub, positional, opts)
        raise CliFailure(f"ERROR: unknown command 'pct {sub}'\nUSAGE: pct <COMMAND> [ARGS] [OPTIONS]\n")

    async def _list(self) -> int:
        guests = sorted((g for g in self.sim.cluster.guests.values() if g.node == self.node and g.kind == "lxc"),
                        key=lambda g: g.vmid)  # fmt: skip
        lines = [f"{'VMID':<10} {'Status':<10} {'Lock':<12} Name"]
        for guest in guests:
            lock = self.sim.lock_of(guest) or ""
            lines.append(f"{guest.vmid:<10} {guest.status:<10} {lock:<12} {guest.config.get('hostname', '')}")
        await self._out(("\n".join(lines) + "\n").encode())
        return 0

    async def _exec(self, rest: list[str]) -> int:
        if not rest:
            raise CliFailure(f"400 not enough arguments\n{USAGE['exec']}\n")
        guest = self._guest(rest[0], "exec")
        argv = rest[1:]
        if argv[:1] == ["--"]:
            argv = argv[1:]
        if not argv:
            raise CliFailure(f"missing command at {PCT_PM} line 210.")
        if guest.status != "running":
            vmid = guest.vmid
            raise CliFailure(
                f"lxc-attach: {vmid}: ../src/lxc/attach.c: get_attach_context: 405 Connection refused - "
                f"Failed to get init pid\nlxc-attach: {vmid}: ../src/lxc/attach.c: lxc_attach: 1470 Connection "
                "refused - Failed to get attach context",
                code=1,
            )
        return await self.sim.backend.exec(guest.vmid, argv, self._stdin(), self._out, self._err)

    async def _stdin(self) -> AsyncIterator[bytes]:
        while True:
            try:
                chunk = await self.process.stdin.read(65536)
            except (asyncssh.SignalReceived, asyncssh.BreakReceived, asyncssh.TerminalSizeChanged):
                continue  # as a PVE node's sshd does for root logins: the request is refused, the command runs on
            if not chunk:
                return
            yield chunk

    async def _copy(self, sub: str, positional: list[str], opts: dict[str, str]) -> int:
        guest = self._guest(positional[0], sub)
        perms: int | None = None
        if "perms" in opts:
            text = opts["perms"] if opts["perms"].startswith("0") else "0" + opts["perms"]
            try:
                perms = int(text, 16) if text.lower().startswith("0x") else int(text, 8)
            except ValueError:
                raise CliFailure(f"invalid mode: '{opts['perms']}'") from None
        if sub == "push":
            if guest.status != "running":
                raise CliFailure("can only push files to a running CT")
            source = self._scratch_path(positional[1])
            if not source.is_file():
                raise CliFailure(f"failed to open {positional[1]} for reading")
            await self.sim.backend.push(guest.vmid, source, positional[2], perms, opts.get("user"), opts.get("group"))
            return 0
        if guest.status != "running":
            raise CliFailure(f"can only pull files from a running VM at {PCT_PM} line 1001.")
        target = self._scratch_path(positional[2])
        target.parent.mkdir(parents=True, exist_ok=True)
        await self.sim.backend.pull(guest.vmid, positional[1], target)
        if perms is not None:
            target.chmod(perms)
        return 0


class _NodeServer(asyncssh.SSHServer):
    """Only ``root`` with the generated client key gets in, like a PVE node with key-only SSH."""

    def __init__(self) -> None:
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn

    def begin_auth(self, username: str) -> bool:
        if username != "root" and self._conn is not None:
            self._conn.set_authorized_keys(asyncssh.import_authorized_keys(""))
        return True

    def password_auth_supported(self) -> bool:
        return False


async def start_ssh(
    sim: Simulator, host: str, ports: dict[str, int], host_key: Path, client_pub: Path
) -> dict[str, tuple[asyncssh.SSHAcceptor, int]]:
    """One listener per node; returns node → (acceptor, bound port)."""
    servers: dict[str, tuple[asyncssh.SSHAcceptor, int]] = {}
    authorized = asyncssh.import_authorized_keys(await asyncio.to_thread(client_pub.read_text))
    for node, port in ports.items():
        scratch = sim.config.state_dir / "nodes" / node
        scratch.mkdir(parents=True, exist_ok=True)

        def process_factory(
            process: asyncssh.SSHServerProcess[bytes], node: str = node, scratch: Path = scratch
        ) -> Any:
            return _serve(sim, node, scratch, process)

        def sftp_factory(chan: Any, scratch: Path = scratch) -> asyncssh.SFTPServer:
            return asyncssh.SFTPServer(chan, chroot=str(scratch).encode())

        acceptor = await asyncssh.create_server(
            _NodeServer, host, port,
            server_host_keys=[str(host_key)], authorized_client_keys=authorized,
            process_factory=process_factory, sftp_factory=sftp_factory, encoding=None, allow_scp=False,
        )  # fmt: skip
        bound = acceptor.sockets[0].getsockname()[1]
        servers[node] = (acceptor, bound)
    return servers


async def _serve(sim: Simulator, node: str, scratch: Path, process: asyncssh.SSHServerProcess[bytes]) -> None:
    try:
        code = await PctCommand(sim, node, scratch, process).run()
    except (BrokenPipeError, ConnectionError):
        return  # the client closed the channel while the command wrote: sshd drops the output, the session ends
    except Exception:
        log.exception("pvesim ssh command failed", command=process.command)
        with contextlib.suppress(BrokenPipeError, ConnectionError):
            process.stderr.write(b"internal simulator error\n")
        code = 255
    with contextlib.suppress(BrokenPipeError, ConnectionError):
        process.exit(code & 0xFF)
