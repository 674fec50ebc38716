"""``SSHNodeClient``: one pinned-host-key SSH connection to a PVE node, for ``pct`` commands and SFTP uploads.

* Host keys are always verified against the pinned key (never ``known_hosts=None``); a mismatch fails during key
  exchange, before our client key is offered.
* Commands are argument lists joined with ``shlex.join`` (see ``commands.py``); output is streamed line by line.
* Files (scripts, secrets) go over SFTP into a private 0700 directory on the node, then into the CT with
  ``pct push``; secrets never appear in a command line or a log.
* A per-node semaphore bounds concurrent sessions (OpenSSH's ``MaxSessions`` defaults to 10 per connection).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, cast

import asyncssh
from asyncssh.encryption import get_default_encryption_algs

from lxc_manager.core.aio import PerLoop
from lxc_manager.core.logging import get_logger
from lxc_manager.integrations.ssh.commands import (
    PctListEntry,
    build_command,
    parse_pct_list,
    pct_exec_argv,
    pct_list_argv,
    pct_pull_argv,
    pct_push_argv,
    pct_status_argv,
    tethered,
)
from lxc_manager.integrations.ssh.errors import (
    SSHAuthError,
    SSHCommandError,
    SSHConnectError,
    SSHError,
    SSHHostKeyMismatch,
    SSHTimeout,
    classify_pct_failure,
)

__all__ = ["CommandResult", "LineCallback", "SSHNodeClient", "SSHTarget"]

log = get_logger(__name__)

LineCallback = Callable[[str, str], Awaitable[None]]
MAX_LINE_BYTES = 64 * 1024  # a longer "line" is delivered in pieces rather than buffered without bound
# AES-GCM first: asyncssh's chacha20-poly1305 builds two cipher contexts per packet in Python and costs about 60 %
# more CPU per command than AES-GCM (one AEAD call, AES-NI). Every asyncssh default stays allowed after them.
ENCRYPTION_ALGS = ["aes256-gcm@openssh.com", "aes128-gcm@openssh.com"] + [
    alg.decode()
    for alg in get_default_encryption_algs()
    if alg not in (b"aes256-gcm@openssh.com", b"aes128-gcm@openssh.com")
]
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_ABSOLUTE_DIR = re.compile(r"^/[A-Za-z0-9._/-]*$")


@dataclass(frozen=True, repr=False)
class SSHTarget:
    """Where and how to reach a node. ``host_key`` is the pinned OpenSSH public host key line
    (``ssh-ed25519 AAAA…``, a ``known_hosts`` line is accepted too)."""

    host: str
    port: int
    username: str
    private_key_pem: str
    host_key: str

    def __post_init__(self) -> None:
        if not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise ValueError(f"invalid SSH port {self.port!r}")
        if not self.host or not self.username:
            raise ValueError("SSH host and username are required")
        self.pinned_key()  # fail early on a malformed pin

    def pinned_key(self) -> asyncssh.SSHKey:
        if not isinstance(self.host_key, str):
            raise ValueError("host_key must be an OpenSSH public key line")
        line = self.host_key.strip()
        # A bare key line, or a known_hosts line "HOSTS KEYTYPE BASE64".
        for candidate in (line, *line.split(None, 1)[1:]):
            try:
                return asyncssh.import_public_key(candidate)
            except (asyncssh.KeyImportError, ValueError):
                continue
        raise ValueError("host_key is not an OpenSSH public key line")

    @property
    def host_key_fingerprint(self) -> str:
        return self.pinned_key().get_fingerprint("sha256")

    def __repr__(self) -> str:
        return (f"SSHTarget(host={self.host!r}, port={self.port}, username={self.username!r}, "
                f"host_key={self.host_key_fingerprint!r}, private_key_pem='<redacted>')")  # fmt: skip

    __str__ = __repr__


@dataclass(frozen=True)
class CommandResult:
    exit_status: int
    stdout_tail: str
    stderr_tail: str


# Per event loop, per (host, port): shared by every client of the same node in this process.
_NODE_SEMAPHORES: PerLoop[tuple[str, int], asyncio.Semaphore] = PerLoop()


def _node_semaphore(host: str, port: int, limit: int) -> asyncio.Semaphore:
    return _NODE_SEMAPHORES.get((host, port), lambda: asyncio.Semaphore(limit))


@dataclass
class _Tail:
    limit: int | None
    lines: collections.deque[str] = field(default_factory=collections.deque)

    def add(self, line: str) -> None:
        self.lines.append(line)
        if self.limit is not None and len(self.lines) > self.limit:
            self.lines.popleft()

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)


class SSHNodeClient:
    """One node, one connection (re-opened when it dropped). Use ``async with SSHNodeClient(target) as node``."""

    def __init__(
        self, target: SSHTarget, *, connect_timeout: float = 15.0, command_timeout: float = 600.0,
        max_sessions: int = 8, keepalive_interval: float = 15.0, remote_tmp: str = "/tmp",  # noqa: S108
    ) -> None:  # fmt: skip
        if not _ABSOLUTE_DIR.match(remote_tmp):
            raise ValueError("remote_tmp must be an absolute path")
        self.target = target
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.max_sessions = max_sessions
        self.keepalive_interval = keepalive_interval
        self.remote_tmp = remote_tmp.rstrip("/") or "/"
        try:
            self._client_key = asyncssh.import_private_key(target.private_key_pem)
        except (asyncssh.KeyImportError, ValueError):
            raise ValueError("private_key_pem is not an unencrypted private key asyncssh can read") from None
        self._host_key = target.pinned_key()
        self._conn: asyncssh.SSHClientConnection | None = None
        self._connect_lock = asyncio.Lock()
        self._sftp_lock = asyncio.Lock()
        self._sftp_session: tuple[asyncssh.SSHClientConnection, asyncssh.SFTPClient] | None = None
        self._private_dir: str | None = None
        self._semaphore: asyncio.Semaphore | None = None

    def __repr__(self) -> str:
        return f"SSHNodeClient({self.target!r})"

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._private_dir is not None:
                with contextlib.suppress(SSHError):  # reconnects if needed; a failure must not mask ``exc``
                    await self.cleanup()
        finally:
            await self.close()

    @property
    def semaphore(self) -> asyncio.Semaphore:
        if self._semaphore is None:
            self._semaphore = _node_semaphore(self.target.host, self.target.port, self.max_sessions)
        return self._semaphore

    # -- connection -------------------------------------------------------------------------------------------

    async def connect(self) -> None:
        await self._connection()

    async def close(self) -> None:
        self._drop_sftp()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.wait_closed(), 5)

    async def _connection(self) -> asyncssh.SSHClientConnection:
        async with self._connect_lock:
            if self._conn is not None and not self._conn.is_closed():
                return self._conn
            self._conn = await self._open()
            return self._conn

    def _forget(self, conn: asyncssh.SSHClientConnection) -> None:
        if self._conn is conn:
            self._conn = None
        conn.abort()

    async def _open(self) -> asyncssh.SSHClientConnection:
        where = f"{self.target.host}:{self.target.port}"
        # Only the pinned key is trusted; asyncssh also limits the offered host key algorithms to its type.
        known_hosts = cast(Any, ([self._host_key], [], []))
        try:
            conn = await asyncssh.connect(
                self.target.host, self.target.port, username=self.target.username,
                client_keys=[self._client_key], known_hosts=known_hosts, config=None, agent_path=None,
                password=None, kbdint_auth=False, gss_host=None, x509_trusted_certs=None,
                preferred_auth="publickey", connect_timeout=self.connect_timeout, encryption_algs=ENCRYPTION_ALGS,
                keepalive_interval=self.keepalive_interval, keepalive_count_max=3,
            )  # fmt: skip
        except asyncssh.HostKeyNotVerifiable as exc:
            log.warning("ssh host key mismatch", node=where, pinned=self.target.host_key_fingerprint)
            raise SSHHostKeyMismatch(
                f"{where}: host key does not match the pinned key {self.target.host_key_fingerprint} ({exc.reason})"
            ) from None
        except asyncssh.PermissionDenied as exc:
            raise SSHAuthError(f"{where}: user {self.target.username!r} was refused ({exc.reason})") from None
        except TimeoutError:
            raise SSHTimeout(f"{where}: connecting took longer than {self.connect_timeout}s") from None
        except (asyncssh.Error, OSError) as exc:
            raise SSHConnectError(f"{where}: cannot connect: {exc}") from None
        log.debug("ssh connected", node=where)
        return conn

    # -- commands ---------------------------------------------------------------------------------------------

    async def run(
        self, argv: Sequence[str], *, input: bytes | None = None, timeout: float | None = None, check: bool = True,  # noqa: ASYNC109
        on_line: LineCallback | None = None, tail_lines: int | None = 200, tether: bool = False,
    ) -> CommandResult:  # fmt: skip
        """Run ``argv`` on the node; ``on_line(stream, line)`` gets each stdout/stderr line as it arrives.

        Raises ``SSHCommandError`` (``PctError`` for pct) on a non-zero exit when ``check``; ``SSHTimeout`` after
        ``timeout`` seconds. On timeout or cancellation the remote process is signalled and the channel closed;
        sshd ignores the signal for root, so a silent command only stops then when it is run with ``tether``
        (see ``TETHER``; not with ``input``, which needs the stdin the tether watches).
        """
        if tether and input is not None:
            raise ValueError("a tethered command reads no input: its stdin is the channel's liveness")
        argv = list(argv)
        return await self._run(argv, tethered(argv) if tether else argv, input=input, timeout=timeout, check=check,
                               on_line=on_line, tail_lines=tail_lines, hold_stdin=tether)  # fmt: skip

    async def _run(
        self, argv: list[str], remote: list[str], *, input: bytes | None, timeout: float | None,  # noqa: ASYNC109
        check: bool, on_line: LineCallback | None, tail_lines: int | None, hold_stdin: bool,
    ) -> CommandResult:  # fmt: skip
        """Run ``remote``; errors and logs name ``argv``, the command as the caller gave it (without the tether)."""
        command = build_command(remote)
        limit = self.command_timeout if timeout is None else timeout
        where = f"{self.target.host}:{self.target.port}"
        async with self.semaphore:
            process: asyncssh.SSHClientProcess[bytes] | None = None
            try:
                async with asyncio.timeout(limit):
                    process = await self._open_process(command)
                    result = await self._drive(process, input, on_line, tail_lines, hold_stdin)
            except TimeoutError:
                raise SSHTimeout(f"{where}: {argv[:3]!r}… did not finish within {limit}s", argv) from None
            except (asyncssh.Error, OSError) as exc:
                raise SSHConnectError(f"{where}: connection failed during {argv[:3]!r}…: {exc}") from None
            finally:
                if process is not None and process.returncode is None:
                    _abort(process)
        log.debug("ssh command finished", node=where, command=build_command(argv), exit_status=result.exit_status)
        if check and result.exit_status != 0:
            if argv[0] == "pct":
                raise classify_pct_failure(argv, result.exit_status, result.stderr_tail)
            raise SSHCommandError(argv, result.exit_status, result.stderr_tail)
        return result

    async def _open_process(self, command: str) -> asyncssh.SSHClientProcess[bytes]:
        for attempt in range(2):
            conn = await self._connection()
            try:
                return await conn.create_process(command, encoding=None)
            except asyncssh.ChannelOpenError as exc:
                if exc.code == asyncssh.OPEN_CONNECT_FAILED and not attempt:
                    # The connection went away before the channel opened, so nothing ran: reconnect, try again.
                    self._forget(conn)
                    continue
                raise SSHConnectError(f"the node refused a new session: {exc.reason}") from None
            except (asyncssh.Error, OSError):
                self._forget(conn)  # the command may have started: no retry, but the next call reconnects
                raise
        raise AssertionError("unreachable")

    async def _drive(
        self, process: asyncssh.SSHClientProcess[bytes], data: bytes | None, on_line: LineCallback | None,
        tail_lines: int | None, hold_stdin: bool,
    ) -> CommandResult:  # fmt: skip
        tails = {"stdout": _Tail(tail_lines), "stderr": _Tail(tail_lines)}

        async def emit(stream: str, raw: bytes) -> None:
            line = raw.decode("utf-8", "replace").removesuffix("\r")
            tails[stream].add(line)
            if on_line is not None:
                await on_line(stream, line)

        async def pump(reader: asyncssh.SSHReader[bytes], stream: str) -> None:
            pending = b""
            while chunk := await reader.read(65536):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    while len(raw) > MAX_LINE_BYTES:
                        await emit(stream, raw[:MAX_LINE_BYTES])
                        raw = raw[MAX_LINE_BYTES:]
                    await emit(stream, raw)
                while len(pending) > MAX_LINE_BYTES:
                    await emit(stream, pending[:MAX_LINE_BYTES])
                    pending = pending[MAX_LINE_BYTES:]
            if pending:
                await emit(stream, pending)

        async def feed() -> None:
            if data:
                process.stdin.write(data)
                await process.stdin.drain()
            if not hold_stdin:  # held open, it closes with the channel: the tether's signal to stop the command
                process.stdin.write_eof()

        tasks = [asyncio.ensure_future(feed()), asyncio.ensure_future(pump(process.stdout, "stdout")),
                 asyncio.ensure_future(pump(process.stderr, "stderr"))]  # fmt: skip
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            # One side failed (e.g. on_line raised) or we were cancelled: stop the others before unwinding.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        await process.wait_closed()
        status = process.returncode
        if status is None:
            raise SSHConnectError("the channel closed without an exit status (connection lost?)")
        return CommandResult(status if status >= 0 else -1, tails["stdout"].text(), tails["stderr"].text())

    # -- files ------------------------------------------------------------------------------------------------

    async def upload(self, data: bytes, name: str, mode: int = 0o600) -> str:
        """Write ``data`` to ``name`` in this client's private 0700 directory on the node; returns the path."""
        if not _FILE_NAME.match(name) or name in {".", ".."}:
            raise ValueError(f"upload name {name!r} must be a plain file name")
        if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o777:
            raise ValueError(f"invalid file mode {mode!r}")
        async with self.semaphore, self._sftp() as sftp:
            directory = await self._ensure_private_dir(sftp)
            path = f"{directory}/{name}"
            # Created owner-only, then set to the requested mode: the content is never readable by others.
            # (Owner-only is what nearly every upload wants: no chmod round trip then.)
            async with sftp.open(path, "wb", asyncssh.SFTPAttrs(permissions=0o600)) as handle:
                await handle.write(data)
            if mode != 0o600:
                await sftp.chmod(path, mode)
        return path

    async def remove(self, path: str) -> None:
        """Delete a file this client uploaded (only inside its private directory)."""
        if self._private_dir is None or not path.startswith(self._private_dir + "/") or "/.." in path:
            raise ValueError("only files inside the private upload directory can be removed")
        async with self.semaphore, self._sftp() as sftp:
            with contextlib.suppress(asyncssh.SFTPNoSuchFile):
                await sftp.remove(path)

    async def read_private(self, path: str, max_bytes: int = 1 << 20) -> bytes:
        """Read a file inside the private directory (e.g. one ``pct_pull`` wrote), at most ``max_bytes``."""
        if self._private_dir is None or not path.startswith(self._private_dir + "/") or "/.." in path:
            raise ValueError("only files inside the private upload directory can be read")
        async with self.semaphore, self._sftp() as sftp, sftp.open(path, "rb") as handle:
            data = await handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise SSHError(f"{path} is larger than {max_bytes} bytes")
        return cast(bytes, data)

    async def cleanup(self) -> None:
        """Remove the private directory and everything in it."""
        directory = self._private_dir
        if directory is None:
            return
        async with self.semaphore, self._sftp() as sftp:
            with contextlib.suppress(asyncssh.SFTPNoSuchFile):
                await sftp.rmtree(directory)
        self._private_dir = None

    async def private_dir(self) -> str:
        """The private 0700 directory on the node (created on first use)."""
        async with self.semaphore, self._sftp() as sftp:
            return await self._ensure_private_dir(sftp)

    async def _sftp_client(self) -> asyncssh.SFTPClient:
        """The connection's SFTP session, opened on first use and kept: a session per transfer would cost a channel
        open, the SFTP version exchange and a close each time (three round trips, and CPU on both ends)."""
        async with self._sftp_lock:
            conn = await self._connection()
            if self._sftp_session is not None and self._sftp_session[0] is conn:
                return self._sftp_session[1]
            self._drop_sftp()
            for attempt in range(2):
                try:
                    client = await conn.start_sftp_client()
                    break
                except asyncssh.ChannelOpenError as exc:
                    if exc.code == asyncssh.OPEN_CONNECT_FAILED and not attempt:
                        self._forget(conn)  # dropped before the channel opened: reconnect, try again
                        conn = await self._connection()
                        continue
                    where = f"{self.target.host}:{self.target.port}"
                    raise SSHConnectError(f"{where}: the node refused an SFTP session: {exc.reason}") from None
                except (asyncssh.Error, OSError):
                    self._forget(conn)
                    raise
            self._sftp_session = (conn, client)
            return client

    def _drop_sftp(self) -> None:
        session, self._sftp_session = self._sftp_session, None
        if session is not None:
            session[1].exit()

    @contextlib.asynccontextmanager
    async def _sftp(self) -> Any:
        where = f"{self.target.host}:{self.target.port}"
        try:
            async with asyncio.timeout(self.command_timeout):
                client = await self._sftp_client()
                try:
                    yield client
                except asyncssh.SFTPConnectionLost:
                    self._drop_sftp()
                    raise
                except asyncssh.SFTPError:
                    raise  # a status answer (no such file, permission denied): the session is fine
                except BaseException:
                    # Timeout, cancellation mid-request or a broken channel: the session may hold a half-done
                    # exchange, so the next transfer opens a new one.
                    self._drop_sftp()
                    raise
        except TimeoutError:
            raise SSHTimeout(f"{where}: SFTP transfer did not finish within {self.command_timeout}s") from None
        except asyncssh.SFTPError as exc:
            raise SSHError(f"{where}: SFTP failed: {exc.reason}") from None
        except (asyncssh.Error, OSError) as exc:
            raise SSHConnectError(f"{where}: connection failed during SFTP: {exc}") from None

    async def _ensure_private_dir(self, sftp: asyncssh.SFTPClient) -> str:
        if self._private_dir is not None:
            return self._private_dir
        if not await sftp.isdir(self.remote_tmp):
            # exist_ok: another session may create it between the check and the mkdir.
            await sftp.makedirs(self.remote_tmp, attrs=asyncssh.SFTPAttrs(permissions=0o1777), exist_ok=True)
        # Like mktemp -d: a random name, and mkdir fails rather than reuse an existing directory or symlink.
        path = f"{self.remote_tmp.rstrip('/')}/lxcm-{secrets.token_hex(12)}"
        await sftp.mkdir(path, attrs=asyncssh.SFTPAttrs(permissions=0o700))
        await sftp.chmod(path, 0o700)  # the server's umask may have narrowed it, never widened; make it exact
        self._private_dir = path
        return path

    # -- pct --------------------------------------------------------------------------------------------------

    async def pct_exec(
        self, vmid: int, argv: Sequence[str], env_file: str | None = None, *, input: bytes | None = None,
        timeout: float | None = None, check: bool = True, on_line: LineCallback | None = None,  # noqa: ASYNC109
    ) -> CommandResult:  # fmt: skip
        """Run ``argv`` inside CT ``vmid``; ``env_file`` (a path in the CT, see ``format_env_file``) is sourced
        first so secrets reach the command as environment variables without entering any command line. Without
        ``input`` the command is tethered inside the CT: a cancel, timeout or lost connection stops it there."""
        tether = input is None
        shown = pct_exec_argv(vmid, argv, env_file)
        remote = pct_exec_argv(vmid, argv, env_file, tether=True) if tether else shown
        return await self._run(shown, remote, input=input, timeout=timeout, check=check, on_line=on_line,
                               tail_lines=200, hold_stdin=tether)  # fmt: skip

    async def pct_push(
        self, vmid: int, local_path_on_node: str, dest: str, *, perms: int | None = None, user: str | None = None,
        group: str | None = None, timeout: float | None = None,  # noqa: ASYNC109
    ) -> None:  # fmt: skip
        await self.run(pct_push_argv(vmid, local_path_on_node, dest, perms=perms, user=user, group=group),
                       timeout=timeout)  # fmt: skip

    async def pct_pull(
        self, vmid: int, source_in_ct: str, dest_on_node: str, *, perms: int | None = None, user: str | None = None,
        group: str | None = None, timeout: float | None = None,  # noqa: ASYNC109
    ) -> None:  # fmt: skip
        await self.run(pct_pull_argv(vmid, source_in_ct, dest_on_node, perms=perms, user=user, group=group),
                       timeout=timeout)  # fmt: skip

    async def pull_file(self, vmid: int, source_in_ct: str, max_bytes: int = 1 << 20) -> bytes:
        """The content of a file inside the CT (``pct pull`` into the private dir, read, delete)."""
        path = f"{await self.private_dir()}/pull-{secrets.token_hex(8)}"
        try:
            await self.pct_pull(vmid, source_in_ct, path, perms=0o600)
            return await self.read_private(path, max_bytes)
        finally:
            await self.remove(path)

    async def pct_status(self, vmid: int, *, timeout: float | None = None) -> str:  # noqa: ASYNC109
        """``running`` / ``stopped`` (raises ``PctNotFound`` for a missing CT)."""
        result = await self.run(pct_status_argv(vmid), timeout=timeout)
        for line in result.stdout_tail.splitlines():
            if line.startswith("status:"):
                return line.split(":", 1)[1].strip()
        raise SSHError(f"unexpected pct status output: {result.stdout_tail[:200]!r}")

    async def pct_list(self, *, timeout: float | None = None) -> list[PctListEntry]:  # noqa: ASYNC109
        result = await self.run(pct_list_argv(), timeout=timeout, tail_lines=None)
        return parse_pct_list(result.stdout_tail)

    async def push_secret_file(
        self, vmid: int, content: bytes, dest: str, *, perms: int = 0o600, user: str | None = None,
        group: str | None = None,
    ) -> None:  # fmt: skip
        """Put ``content`` at ``dest`` in the CT: SFTP upload (0600), ``pct push --perms``, delete the node copy.
        The content never appears in a command line, an exception or a log."""
        if perms & 0o007:
            raise ValueError("a secret file must not be accessible to others (perms & 0o007)")
        path = await self.upload(content, f"secret-{secrets.token_hex(12)}", 0o600)
        try:
            await self.pct_push(vmid, path, dest, perms=perms, user=user, group=group)
        finally:
            await asyncio.shield(self.remove(path))


def _abort(process: asyncssh.SSHClientProcess[bytes]) -> None:
    """Stop a remote command we no longer wait for: signal it (OpenSSH honours ``signal`` requests), close the
    channel. Synchronous, so it also runs while a cancellation unwinds."""
    with contextlib.suppress(Exception):
        process.send_signal("TERM")
    with contextlib.suppress(Exception):
        process.close()
