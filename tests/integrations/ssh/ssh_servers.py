"""Servers for the SSH client tests: a real OpenSSH ``sshd`` on 127.0.0.1 and the PVE simulator's SSH side.

The sshd listens on two ports. On ``port`` every command goes through ``record.sh`` (``ForceCommand``), which
appends the exact command line it received to ``commands.log`` and runs it with ``/bin/sh -c`` — what sshd does
with the login shell anyway; a ``pct`` stand-in on its PATH copies pushed files into ``ct/<vmid>/…`` and runs
``pct exec`` commands directly. ``plain_port`` runs commands with root's own login shell, as on a PVE node.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh
import httpx

from lxc_manager.integrations.ssh import SSHTarget
from lxc_manager.pvesim.backend import MemoryBackend
from lxc_manager.pvesim.core import Simulator

TOKEN_SECRET = "11111111-2222-3333-4444-555555555555"  # the simulator's root@pam!admin API token
SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if Path("/usr/sbin/sshd").exists() else None)
SFTP_SERVER = next((p for p in ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server",
                                "/usr/libexec/sftp-server") if Path(p).exists()), None)  # fmt: skip

RECORDER = """#!/bin/sh
printf '%s\\0' "$SSH_ORIGINAL_COMMAND" >> {root}/commands.log
PATH={root}/bin:$PATH CTROOT={root}/ct exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"
"""

FAKE_PCT = """#!/bin/sh
# pct stand-in (Proxmox is mocked; OpenSSH is real): push copies into $CTROOT/<vmid>, exec runs the command.
set -e
sub=$1; shift
case "$sub" in
  push)
    vmid=$1; src=$2; dst=$3; shift 3; perms=""
    while [ $# -gt 0 ]; do case "$1" in --perms) perms=$2; shift 2;; *) shift 2;; esac; done
    mkdir -p "$CTROOT/$vmid$(dirname "$dst")"
    cp "$src" "$CTROOT/$vmid$dst"
    if [ -n "$perms" ]; then chmod "$perms" "$CTROOT/$vmid$dst"; fi ;;
  exec)
    vmid=$1; shift
    if [ "$1" = "--" ]; then shift; fi
    exec "$@" ;;
  status)
    if [ -d "$CTROOT/$1" ]; then echo "status: running"; else
      echo "Configuration file 'nodes/test/lxc/$1.conf' does not exist" >&2; exit 2; fi ;;
  *) echo "ERROR: unknown command 'pct $sub'" >&2; exit 255 ;;
esac
"""


def new_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519")


def public_line(key: asyncssh.SSHKey) -> str:
    return key.export_public_key().decode().strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OpenSSHServer:
    root: Path
    port: int
    plain_port: int
    process: subprocess.Popen[bytes]
    host_key: asyncssh.SSHKey
    client_key: asyncssh.SSHKey

    def target(
        self, *, client_key: asyncssh.SSHKey | None = None, host_key: str | None = None, plain: bool = False
    ) -> SSHTarget:
        return SSHTarget(
            host="127.0.0.1", port=self.plain_port if plain else self.port, username="root",
            private_key_pem=(client_key or self.client_key).export_private_key().decode(),
            host_key=host_key or public_line(self.host_key),
        )  # fmt: skip

    def commands(self) -> list[str]:
        log = self.root / "commands.log"
        return [c for c in log.read_text().split("\0") if c] if log.exists() else []

    def log_text(self) -> str:
        path = self.root / "sshd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def session_pids(self) -> list[int]:
        """The per-connection sshd processes (children of the listener we started)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:
                    pids.append(int(entry.name))
        return pids

    def stop(self) -> None:
        for pid in self.session_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def openssh_unavailable() -> str | None:
    if SSHD is None:
        return "OpenSSH sshd is not installed (apt-get install openssh-server; scripts/install-test-deps.sh)"
    if os.geteuid() != 0:
        return "the OpenSSH tests start sshd with privilege separation and log in as root: they need root"
    if SFTP_SERVER is None:
        return "the OpenSSH sftp-server binary is missing"
    return None


def start_openssh(root: Path) -> OpenSSHServer:
    assert SSHD is not None and SFTP_SERVER is not None
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege separation directory
    root.mkdir(parents=True, exist_ok=True)
    (root / "bin").mkdir(exist_ok=True)
    (root / "ct").mkdir(exist_ok=True)
    host_key, client_key = new_key(), new_key()
    (root / "host_key").write_bytes(host_key.export_private_key())
    (root / "host_key").chmod(0o600)
    (root / "authorized_keys").write_text(public_line(client_key) + "\n")
    (root / "record.sh").write_text(RECORDER.format(root=root))
    (root / "record.sh").chmod(0o755)
    (root / "bin/pct").write_text(FAKE_PCT)
    (root / "bin/pct").chmod(0o755)
    last_error = ""
    for _ in range(5):
        port, plain_port = _free_port(), _free_port()
        config = root / "sshd_config"
        config.write_text(
            f"ListenAddress 127.0.0.1\nPort {port}\nPort {plain_port}\nHostKey {root}/host_key\n"
            f"PidFile {root}/sshd.pid\n"
            f"AuthorizedKeysFile {root}/authorized_keys\nUsePAM no\nStrictModes no\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\n"
            f"AllowUsers root\nSubsystem sftp {SFTP_SERVER}\nLogLevel VERBOSE\nMaxSessions 20\nMaxStartups 50\n"
            f"Match LocalPort {port}\n  ForceCommand {root}/record.sh\n"
        )
        process = subprocess.Popen([SSHD, "-D", "-f", str(config), "-E", str(root / "sshd.log")])
        for _ in range(200):
            if process.poll() is not None:
                break
            try:
                for bound in (port, plain_port):
                    socket.create_connection(("127.0.0.1", bound), timeout=0.2).close()
                return OpenSSHServer(root, port, plain_port, process, host_key, client_key)
            except OSError:
                time.sleep(0.02)
        process.kill()
        process.wait()
        last_error = (root / "sshd.log").read_text(errors="replace") if (root / "sshd.log").exists() else ""
    raise RuntimeError(f"sshd did not start: {last_error[-2000:]}")


@dataclass
class SimNode:
    sim: Simulator
    api: httpx.AsyncClient
    port: int
    client_key: asyncssh.SSHKey
    host_pub: str
    commands: list[str] = field(default_factory=list)

    def target(self, *, client_key: asyncssh.SSHKey | None = None, host_key: str | None = None) -> SSHTarget:
        return SSHTarget(
            host="127.0.0.1", port=self.port, username="root",
            private_key_pem=(client_key or self.client_key).export_private_key().decode(),
            host_key=host_key or self.host_pub,
        )  # fmt: skip

    async def _data(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"PVEAPIToken=root@pam!admin={TOKEN_SECRET}"}
        response = await self.api.request(method, "/api2/json" + path, headers=headers, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    async def _wait(self, upid: str) -> None:
        for _ in range(1000):
            status = await self._data("GET", f"/nodes/pve1/tasks/{upid}/status")
            if status["status"] == "stopped":
                assert status["exitstatus"] == "OK", status
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"task {upid} did not finish")

    async def create_ct(self, vmid: int, *, start: bool = True) -> None:
        form = {"vmid": str(vmid), "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
                "hostname": f"ct{vmid}", "rootfs": "local-lvm:8", "memory": "512"}  # fmt: skip
        await self._wait(await self._data("POST", "/nodes/pve1/lxc", data=form))
        if start:
            await self._wait(await self._data("POST", f"/nodes/pve1/lxc/{vmid}/status/start"))

    def ct_path(self, vmid: int, path: str) -> Path:
        backend = self.sim.backend
        assert isinstance(backend, MemoryBackend)
        return backend.resolve(vmid, path)

    @property
    def scratch(self) -> Path:
        return self.sim.config.state_dir / "nodes" / "pve1"
