"""What every host command needs: the simulator's connection details, an API client, an SSH session, task waiting."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxc_manager.pvesim.hostcli.options import CliError
from lxc_manager.pvesim.schema import ApiSchema, MethodInfo, SchemaUnavailable

if TYPE_CHECKING:
    import asyncssh

    from lxc_manager.integrations.proxmox.client import ProxmoxClient

TASK_END_RE = re.compile(r"^TASK (OK|ERROR: .*|WARNINGS: \d+)$")
WARNINGS_RE = re.compile(r"^WARNINGS: \d+$")
TASK_POLL_INTERVAL = 0.1  # the simulator is local: poll fast so a CLI call costs little more than its task


def write_out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def write_err(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def sftp_quote(path: str) -> str:
    """A path as one word of an sftp batch line (double quotes, backslash escapes)."""
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


def api_failure(exc: Exception) -> CliError:
    """An API error as the PVE CLI shows it: the message (per-parameter lines for a 400), exit 255.

    A missing guest config exits 2: the real CLI dies right after a failed file read, with ``$!`` = ENOENT."""
    from lxc_manager.integrations.proxmox.errors import ProxmoxAPIError, ProxmoxValidationError

    if isinstance(exc, ProxmoxValidationError):
        lines = "".join(f"{name}: {message}\n" for name, message in sorted(exc.errors.items()))
        return CliError(f"400 Parameter verification failed.\n{lines}")
    if isinstance(exc, ProxmoxAPIError):
        body = exc.body if isinstance(exc.body, Mapping) else {}
        message = str(body.get("message") or exc.reason).strip()
        code = 2 if re.search(r"^Configuration file '.*' does not exist$", message) else 255
        return CliError(message, code)
    return CliError(f"simulator unreachable: {exc}")


@dataclass
class HostContext:
    """One simulated node (``node``) of the simulator whose state dir is ``state_dir``."""

    state_dir: Path
    node: str
    connection: dict[str, Any]

    @classmethod
    def load(cls, state_dir: Path, node: str | None) -> HostContext:
        path = state_dir / "connection.json"
        try:
            connection: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            raise CliError(f"no simulator here: {path} does not exist (start lxc-manager pve-sim)", 255) from None
        except (OSError, ValueError) as exc:
            raise CliError(f"cannot read {path}: {exc}", 255) from None
        nodes = list(connection.get("nodes") or [])
        chosen = node or os.environ.get("LXCM_PVE_NODE") or (nodes[0] if nodes else "")
        if chosen not in nodes:
            raise CliError(f"node '{chosen}' is not a node of the simulator (nodes: {', '.join(nodes)})", 255)
        return cls(state_dir, chosen, connection)

    def schema(self) -> ApiSchema:
        try:
            return ApiSchema.load(self.connection.get("schema_path"))
        except SchemaUnavailable as exc:
            raise CliError(str(exc), 255) from None

    def method(self, method: str, path: str) -> MethodInfo:
        return self.schema().match(method, path).info

    @asynccontextmanager
    async def client(self) -> AsyncIterator[ProxmoxClient]:
        from lxc_manager.core.logging import configure_logging
        from lxc_manager.integrations.proxmox.client import ProxmoxClient
        from lxc_manager.integrations.proxmox.tls import TLSConfig

        # Client warnings (retries) go to stderr; stdout carries only the command's own output.
        configure_logging(os.environ.get("LXCM_LOG_LEVEL", "WARNING"), json=False)

        conn = self.connection
        tls = TLSConfig(mode="fingerprint", fingerprint_sha256=conn["fingerprint"])
        async with ProxmoxClient(conn["url"], conn["token_id"], conn["token_secret"], tls=tls) as client:
            yield client

    @asynccontextmanager
    async def ssh(self) -> AsyncIterator[asyncssh.SSHClientConnection]:
        """The node's SSH server as root with the simulator's client key; its host key is pinned."""
        import asyncssh

        ssh = self.connection["ssh"]
        endpoint = ssh["nodes"][self.node]
        host, port = endpoint["host"], int(endpoint["port"])
        known = asyncssh.import_known_hosts(f"[{host}]:{port} {ssh['host_public_key']}")
        try:
            async with asyncssh.connect(
                host, port, username=ssh.get("user", "root"), client_keys=[ssh["private_key_path"]],
                known_hosts=known, config=None, agent_path=None,
            ) as connection:  # fmt: skip
                yield connection
        except (OSError, asyncssh.Error) as exc:
            raise CliError(f"cannot reach node {self.node} over SSH ({host}:{port}): {exc}", 255) from None

    def _openssh(self, tool: str) -> tuple[str, list[str], str, str] | None:
        """(binary, options, port, user@host) for OpenSSH's ``ssh``/``sftp``, or None when it is not installed.

        Exec'ing OpenSSH starts in milliseconds where importing asyncssh takes most of a second, and ``pct`` is called
        dozens of times per deploy. Same key, same pinned host key (a known_hosts file beside connection.json)."""
        binary = shutil.which(tool)
        if binary is None or shutil.which("ssh" if tool == "sftp" else "sftp") is None:
            return None
        ssh = self.connection["ssh"]
        endpoint = ssh["nodes"][self.node]
        host, port = endpoint["host"], str(endpoint["port"])
        known = self.state_dir / "ssh_known_hosts"
        line = f"[{host}]:{port} {ssh['host_public_key']}\n"
        if not known.is_file() or line not in known.read_text():
            tmp = known.with_name(f".ssh_known_hosts.{os.getpid()}")
            tmp.write_text(line)
            tmp.replace(known)
        options = ["-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                   "-o", f"UserKnownHostsFile={known}", "-o", "GlobalKnownHostsFile=/dev/null",
                   "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "-i", ssh["private_key_path"]]  # fmt: skip
        return binary, options, port, f"{ssh.get('user', 'root')}@{host}"

    def openssh_argv(self, remote_command: str, stdin: bool = True) -> list[str] | None:
        """``ssh`` argv running ``remote_command`` on the node (stdin forwarded unless it is a terminal)."""
        found = self._openssh("ssh")
        if found is None:
            return None
        binary, options, port, destination = found
        if not stdin or sys.stdin.isatty():
            options.append("-n")  # no pty support: a terminal's input is not forwarded
        return [binary, *options, "-T", "-p", port, destination, remote_command]

    def sftp_batch(self, commands: list[str]) -> None:
        """Run sftp batch commands against the node's scratch dir (quote paths with :func:`sftp_quote`)."""
        found = self._openssh("sftp")
        if found is None:
            raise CliError("sftp is not installed", 255)
        binary, options, port, destination = found
        argv = [binary, *options, "-q", "-b", "-", "-P", port, destination]
        done = subprocess.run(argv, input="\n".join(commands) + "\n", capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise CliError(done.stderr.strip() or f"sftp failed with exit status {done.returncode}", 255)

    async def follow_task(self, client: ProxmoxClient, upid: str) -> None:
        """Print the task's log as it grows (like the CLI running the worker in the foreground); fail like PVE.

        The final ``TASK OK`` / ``TASK ERROR`` line is the task log's, not the CLI's: it is not printed; a failed
        task's error goes to stderr and the command exits 255."""
        from lxc_manager.integrations.proxmox.errors import ProxmoxValidationError

        printed = 0
        early_400s = 0
        while True:
            try:
                status = await client.task_status(upid, self.node)
            except ProxmoxValidationError:
                early_400s += 1  # right after the write the task may not be known yet
                if early_400s > 20:
                    raise
                await asyncio.sleep(TASK_POLL_INTERVAL)
                continue
            log = await client.task_log(upid, self.node, start=printed, limit=1000)
            if printed == 0 and [line.t for line in log.lines] == ["no content"]:
                log.lines = []  # PVE's placeholder for a still empty log
            for line in log.lines:
                if not TASK_END_RE.match(line.t):
                    write_out(line.t + "\n")
            printed += len(log.lines)
            if not status.running:
                break
            await asyncio.sleep(TASK_POLL_INTERVAL)
        exitstatus = status.exitstatus or ""
        if exitstatus != "OK" and not WARNINGS_RE.match(exitstatus):
            raise CliError(exitstatus or f"task {upid} failed", 255)
