"""``pct`` on a simulated node: API subcommands through the HTTPS API, ``exec/push/pull`` through the node's SSH.

Supported: create, destroy, start, stop, shutdown, reboot, status [--verbose], config [--current], set, list,
exec, push, pull (the subset that provisioning scripts and the bash engine use). Output formats and exit codes are
PVE's: ``status: running``, ``key: value`` config lines (sorted, without ``digest``), the ``pct list`` table, the
task log of a write on stdout, an uncaught die as exit 255 (2 for a missing CT config).
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shlex
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

from lxc_manager.pvesim.hostcli.context import HostContext, api_failure, sftp_quote, write_out
from lxc_manager.pvesim.hostcli.options import CliError, Parsed, parse_options

VMID_RE = re.compile(r"^[1-9][0-9]{2,8}$")
CT = "/nodes/{node}/lxc/{vmid}"
COPY_OPTIONS = {"perms": {"type": "string"}, "user": {"type": "string"}, "group": {"type": "string"}}
USAGE = {
    "create": "pct create <vmid> <ostemplate> [OPTIONS]",
    "destroy": "pct destroy <vmid> [OPTIONS]",
    "start": "pct start <vmid> [OPTIONS]",
    "stop": "pct stop <vmid> [OPTIONS]",
    "shutdown": "pct shutdown <vmid> [OPTIONS]",
    "reboot": "pct reboot <vmid> [OPTIONS]",
    "status": "pct status <vmid> [OPTIONS]",
    "config": "pct config <vmid> [OPTIONS]",
    "set": "pct set <vmid> [OPTIONS]",
    "list": "pct list",
    "exec": "pct exec <vmid> [<extra-args>]",
    "push": "pct push <vmid> <file> <destination> [OPTIONS]",
    "pull": "pct pull <vmid> <path> <destination> [OPTIONS]",
}
# Subcommand → (HTTP method, path template under the CT) for the task-running power commands.
POWER = {
    "start": ("POST", CT + "/status/start"),
    "stop": ("POST", CT + "/status/stop"),
    "shutdown": ("POST", CT + "/status/shutdown"),
    "reboot": ("POST", CT + "/status/reboot"),
    "destroy": ("DELETE", CT),
}
SKIP = frozenset({"node", "vmid"})


def _vmid(value: str, sub: str) -> int:
    if not VMID_RE.match(value):
        raise CliError(
            "400 Parameter verification failed.\nvmid: invalid format - value does not look like a valid VM ID\n\n"
            f"{USAGE[sub]}"
        )
    return int(value)


def _encode_text(value: str) -> str:
    """PVE::Tools::encode_text, as ``pct config`` prints a description: control characters percent-encoded."""
    return re.sub(r"[\x00-\x1f\x7f%]", lambda m: f"%{ord(m.group(0)):02X}", value)


class Pct:
    def __init__(self, ctx: HostContext) -> None:
        self.ctx = ctx

    def _parse(self, sub: str, args: list[str], method: str, template: str, positional: int,
               local: dict[str, dict[str, Any]] | None = None, extra_args: bool = False) -> Parsed:  # fmt: skip
        info = self.ctx.method(method, template.replace("{node}", self.ctx.node).replace("{vmid}", "100"))
        return parse_options(args, positional=positional, usage=USAGE[sub], info=info, local=local, skip=SKIP,
                             extra_args=extra_args)  # fmt: skip

    def _path(self, vmid: int, template: str = CT) -> str:
        return template.replace("{node}", self.ctx.node).replace("{vmid}", str(vmid))

    async def run(self, args: list[str]) -> int:
        if not args:
            raise CliError("ERROR: no command specified\nUSAGE: pct <COMMAND> [ARGS] [OPTIONS]")
        sub, rest = args[0], args[1:]
        if sub in {"exec", "push", "pull"}:
            return int(await getattr(self, f"_{sub}")(rest))
        handler = {"create": self._create, "status": self._status, "config": self._config, "set": self._set,
                   "list": self._list, **dict.fromkeys(POWER, self._power)}.get(sub)  # fmt: skip
        if handler is None:
            known = ", ".join(sorted(USAGE))
            raise CliError(f"ERROR: unknown command 'pct {sub}' (the simulator's pct offers: {known})\n"
                           "USAGE: pct <COMMAND> [ARGS] [OPTIONS]")  # fmt: skip
        from lxc_manager.integrations.proxmox.errors import ProxmoxError  # not needed (nor imported) by exec

        try:
            return await handler(sub, rest)
        except ProxmoxError as exc:
            raise api_failure(exc) from None

    # ---- through the API ------------------------------------------------------------------------------------
    async def _create(self, sub: str, args: list[str]) -> int:
        parsed = self._parse(sub, args, "POST", "/nodes/{node}/lxc", 2)
        vmid = _vmid(parsed.positional[0], sub)
        params = {"vmid": str(vmid), "ostemplate": parsed.positional[1], **parsed.options}
        async with self.ctx.client() as client:
            upid = await client.request("POST", f"/nodes/{self.ctx.node}/lxc", params)
            await self.ctx.follow_task(client, str(upid))
        return 0

    async def _power(self, sub: str, args: list[str]) -> int:
        method, template = POWER[sub]
        parsed = self._parse(sub, args, method, template.replace("{vmid}", "100"), 1)
        vmid = _vmid(parsed.positional[0], sub)
        async with self.ctx.client() as client:
            upid = await client.request(method, self._path(vmid, template), parsed.options)
            await self.ctx.follow_task(client, str(upid))
        return 0

    async def _status(self, sub: str, args: list[str]) -> int:
        local = {"verbose": {"type": "boolean"}}
        parsed = self._parse(sub, args, "GET", CT + "/status/current", 1, local)
        vmid = _vmid(parsed.positional[0], sub)
        async with self.ctx.client() as client:
            data = await client.request("GET", self._path(vmid, CT + "/status/current"))
        if parsed.options.get("verbose") == "1":
            write_out("".join(f"{key}: {_scalar(data[key])}\n" for key in sorted(data) if data[key] is not None))
        else:
            write_out(f"status: {data['status']}\n")
        return 0

    async def _config(self, sub: str, args: list[str]) -> int:
        parsed = self._parse(sub, args, "GET", CT + "/config", 1)
        vmid = _vmid(parsed.positional[0], sub)
        async with self.ctx.client() as client:
            data = await client.request("GET", self._path(vmid, CT + "/config"), parsed.options)
        lines = []
        for key in sorted(data):
            if key in {"digest", "lxc"}:
                continue
            value = _scalar(data[key])
            lines.append(f"{key}: {_encode_text(value) if key == 'description' else value}\n")
        for raw_key, raw_value in data.get("lxc") or []:  # raw lxc.* keys come last, in file order
            lines.append(f"{raw_key}: {raw_value}\n")
        write_out("".join(lines))
        return 0

    async def _set(self, sub: str, args: list[str]) -> int:
        parsed = self._parse(sub, args, "PUT", CT + "/config", 1)
        vmid = _vmid(parsed.positional[0], sub)
        async with self.ctx.client() as client:
            await client.request("PUT", self._path(vmid, CT + "/config"), parsed.options)
        return 0

    async def _list(self, sub: str, args: list[str]) -> int:
        parse_options(args, positional=0, usage=USAGE[sub])
        async with self.ctx.client() as client:
            data = await client.request("GET", f"/nodes/{self.ctx.node}/lxc")
        rows = [f"{'VMID':<10} {'Status':<10} {'Lock':<12} {'Name':<20}"]
        for ct in sorted(data, key=lambda c: int(c["vmid"])):
            rows.append(f"{ct['vmid']!s:<10} {ct['status']:<10} {ct.get('lock') or '':<12} {ct.get('name') or '':<20}")
        write_out("".join(row.rstrip() + "\n" for row in rows))
        return 0

    # ---- through the node's SSH server ----------------------------------------------------------------------
    async def _remote(self, argv: list[str], stdin: bool) -> int:
        """Run ``argv`` on the node, streaming stdout/stderr; forward our stdin unless it is a terminal."""
        import asyncio

        async with self.ctx.ssh() as conn:
            process = await conn.create_process(shlex.join(argv), encoding=None)
            forward = stdin and not sys.stdin.isatty()
            if forward:
                _forward_stdin(process, asyncio.get_running_loop())
            else:
                process.stdin.write_eof()

            async def pump(reader: Any, fd: int) -> None:
                while chunk := await reader.read(65536):
                    _write_all(fd, chunk)

            await asyncio.gather(pump(process.stdout, 1), pump(process.stderr, 2))
            completed = await process.wait()
        status = completed.exit_status
        if status is None or status < 0:
            return 255 if completed.exit_signal is None else 128 + 15
        return int(status)

    async def _exec(self, args: list[str]) -> int:
        parsed = parse_options(args, positional=1, usage=USAGE["exec"], extra_args=True)
        _vmid(parsed.positional[0], "exec")
        if not parsed.extra:
            raise CliError("missing command at /usr/share/perl5/PVE/CLI/pct.pm line 210.")
        remote = ["pct", "exec", parsed.positional[0], "--", *parsed.extra]
        openssh = self.ctx.openssh_argv(shlex.join(remote))
        if openssh is not None:
            sys.stdout.flush()
            # An argv list, no shell (S606 wants one). ssh exits with the command's status (255: ssh itself failed).
            os.execv(openssh[0], openssh)  # noqa: S606
        return await self._remote(remote, stdin=True)

    def _copy_args(self, parsed: Parsed) -> list[str]:
        extra: list[str] = []
        for name in ("perms", "user", "group"):
            if name in parsed.options:
                extra += [f"--{name}", parsed.options[name]]
        return extra

    async def _push(self, args: list[str]) -> int:
        parsed = parse_options(args, positional=3, usage=USAGE["push"], local=COPY_OPTIONS)
        vmid, source, dest = parsed.positional
        _vmid(vmid, "push")
        if not _readable_file(source):
            raise CliError(f"failed to open {source} for reading")
        staged = f"pct-cli/{uuid.uuid4().hex}"
        remote = ["pct", "push", vmid, staged, dest, *self._copy_args(parsed)]
        openssh = self.ctx.openssh_argv(shlex.join(remote), stdin=False)
        if openssh is not None:
            self.ctx.sftp_batch(["-mkdir pct-cli", f"put {sftp_quote(source)} {staged}"])
            try:
                return _run(openssh)
            finally:
                self.ctx.sftp_batch([f"-rm {staged}"])
        async with self.ctx.ssh() as conn, conn.start_sftp_client() as sftp:
            await sftp.makedirs("pct-cli", exist_ok=True)
            await sftp.put(source, staged)
            try:
                return await self._remote(["pct", "push", vmid, staged, dest, *self._copy_args(parsed)], stdin=False)
            finally:
                await sftp.remove(staged)

    async def _pull(self, args: list[str]) -> int:
        parsed = parse_options(args, positional=3, usage=USAGE["pull"], local=COPY_OPTIONS)
        vmid, source, dest = parsed.positional
        _vmid(vmid, "pull")
        staged = f"pct-cli/{uuid.uuid4().hex}"
        remote = ["pct", "pull", vmid, source, staged]
        openssh = self.ctx.openssh_argv(shlex.join(remote), stdin=False)
        if openssh is not None:
            self.ctx.sftp_batch(["-mkdir pct-cli"])
            code = _run(openssh)
            if code != 0:
                return code
            try:
                self.ctx.sftp_batch([f"get {staged} {sftp_quote(dest)}"])
            finally:
                self.ctx.sftp_batch([f"-rm {staged}"])
            _apply_owner(Path(dest), parsed.options)
            return 0
        async with self.ctx.ssh() as conn, conn.start_sftp_client() as sftp:
            await sftp.makedirs("pct-cli", exist_ok=True)
            code = await self._remote(remote, stdin=False)
            if code != 0:
                return code
            try:
                await sftp.get(staged, dest)
            finally:
                await sftp.remove(staged)
        _apply_owner(Path(dest), parsed.options)
        return 0


def _apply_owner(path: Path, options: dict[str, str]) -> None:
    """pct pull writes DEST on the host with --perms/--user/--group (names resolve on the host)."""
    if "perms" in options:
        text = options["perms"]
        try:
            path.chmod(int(text, 16) if text.lower().startswith("0x") else int(text, 8))
        except ValueError:
            raise CliError(f"invalid mode: '{text}'") from None
    uid = gid = -1
    try:
        if "user" in options:
            user = options["user"]
            uid = int(user) if user.isdigit() else pwd.getpwnam(user).pw_uid
        if "group" in options:
            group = options["group"]
            gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
    except KeyError as exc:
        raise CliError(f"failed to get id for: {exc.args[0]}") from None
    if (uid, gid) != (-1, -1):
        os.chown(path, uid, gid)


def _run(argv: list[str]) -> int:
    """Run OpenSSH with our stdout/stderr (streamed as they come); its exit status is the remote command's."""
    return subprocess.run(argv, check=False).returncode


def _readable_file(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.R_OK)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _forward_stdin(process: Any, loop: Any) -> None:
    """Copy our stdin to the remote command in a daemon thread (a blocking read must not keep the CLI alive)."""

    def deliver(chunk: bytes) -> None:
        try:
            if chunk:
                process.stdin.write(chunk)
            else:
                process.stdin.write_eof()
        except Exception:  # the command may have finished and closed its channel meanwhile
            return

    def reader() -> None:
        chunk = b"start"
        while chunk:
            try:
                chunk = os.read(0, 65536)
            except OSError:
                chunk = b""
            try:
                loop.call_soon_threadsafe(deliver, chunk)
            except RuntimeError:
                return  # the loop is closed: the command already finished

    threading.Thread(target=reader, name="pct-stdin", daemon=True).start()
