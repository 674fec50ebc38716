"""The SSH side with a real asyncssh client: pct exec/push/pull/status/list, exit codes, keys, SFTP scratch."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from simkit import Pve

from lxc_manager.pvesim.server import ensure_ssh_keys
from lxc_manager.pvesim.ssh import start_ssh


class Node:
    def __init__(self, pve: Pve, port: int, key: Path, host_pub: Path) -> None:
        self.pve, self.port, self.key, self.host_pub = pve, port, key, host_pub

    def connect(self, username: str = "root", key: Path | None = None) -> Any:
        known = asyncssh.import_known_hosts(f"[127.0.0.1]:{self.port} {self.host_pub.read_text().strip()}")
        return asyncssh.connect("127.0.0.1", self.port, username=username, client_keys=[str(key or self.key)],
                                known_hosts=known)  # fmt: skip


@pytest.fixture
async def node(pve: Pve, tmp_path: Path) -> AsyncIterator[Node]:
    host_key, client_key, client_pub = ensure_ssh_keys(tmp_path)
    servers = await start_ssh(pve.sim, "127.0.0.1", {"pve1": 0, "pve2": 0}, host_key, client_pub)
    yield Node(pve, servers["pve1"][1], client_key, host_key.with_suffix(".pub"))
    for acceptor, _ in servers.values():
        acceptor.close()


async def _running_ct(pve: Pve, vmid: int = 200) -> None:
    await pve.create_ct(vmid)
    assert (await pve.wait(await pve.data("POST", f"/nodes/pve1/lxc/{vmid}/status/start")))["exitstatus"] == "OK"


async def test_list_status_and_errors(node: Node) -> None:
    await _running_ct(node.pve)
    await node.pve.create_ct(201)
    async with node.connect() as conn:
        listing = await conn.run("pct list")
        assert listing.exit_status == 0
        lines = listing.stdout.splitlines()
        assert lines[0].split() == ["VMID", "Status", "Lock", "Name"]
        assert lines[1].split() == ["200", "running", "ct200"] and lines[2].split() == ["201", "stopped", "ct201"]
        status = await conn.run("pct status 201")
        assert (status.exit_status, status.stdout) == (0, "status: stopped\n")
        missing = await conn.run("pct status 105")
        assert missing.exit_status == 2  # Perl's die exits with $! (ENOENT from reading the config)
        assert missing.stderr == "Configuration file 'nodes/pve1/lxc/105.conf' does not exist\n"
        bad = await conn.run("pct status abc")
        assert bad.exit_status == 255 and "value does not look like a valid VM ID" in bad.stderr
        unknown = await conn.run("frobnicate --all")
        assert unknown.exit_status == 127 and "command not found" in unknown.stderr
        sub = await conn.run("pct frobnicate 200")
        assert sub.exit_status == 255 and "unknown command 'pct frobnicate'" in sub.stderr
        stopped = await conn.run("pct exec 201 -- true")
        assert stopped.exit_status == 1 and "Failed to get init pid" in stopped.stderr


async def test_exec_streams_and_propagates_exit_codes(node: Node) -> None:
    await _running_ct(node.pve)
    async with node.connect() as conn:
        result = await conn.run("pct exec 200 -- bash -c 'echo out; echo err >&2; exit 3'")
        assert (result.exit_status, result.stdout, result.stderr) == (3, "out\n", "err\n")
        piped = await conn.run("pct exec 200 -- cat", input="hello from stdin")
        assert piped.stdout == "hello from stdin"
        quoted = await conn.run("pct exec 200 -- echo 'a; rm -rf /' \"$HOME\"")
        assert quoted.stdout == "a; rm -rf / $HOME\n"  # shlex, not a shell: nothing is expanded or chained
        script = "apt-get update && apt-get install -y nginx && systemctl is-active nginx && ss -ltn"
        installed = await conn.run(f"pct exec 200 -- bash -c {json.dumps(script)}")
        assert installed.exit_status == 0, installed.stderr
        assert (
            "Setting up nginx" in installed.stdout and "\nactive\n" in installed.stdout and ":80 " in installed.stdout
        )
        inactive = await conn.run("pct exec 200 -- systemctl is-active redis-server")
        assert (inactive.exit_status, inactive.stdout) == (3, "inactive\n")
    calls = node.pve.sim.backend.calls(200)  # type: ignore[attr-defined]
    assert [c["cmd"] for c in calls][:3] == ["apt-get", "apt-get", "systemctl"]
    assert calls[1]["argv"] == ["install", "-y", "nginx"]


async def test_push_pull_via_sftp_scratch(node: Node, tmp_path: Path) -> None:
    await _running_ct(node.pve)
    local = tmp_path / "payload.sh"
    local.write_text("#!/bin/sh\necho pushed\n")
    async with node.connect() as conn:
        async with conn.start_sftp_client() as sftp:
            await sftp.makedirs("/tmp/upload", exist_ok=True)
            await sftp.put(str(local), "/tmp/upload/payload.sh")
        pushed = await conn.run("pct push 200 /tmp/upload/payload.sh /root/payload.sh --perms 755")
        assert pushed.exit_status == 0, pushed.stderr
        ran = await conn.run("pct exec 200 -- /bin/sh -c 'cd && ./payload.sh && stat -c %a payload.sh'")
        assert ran.stdout == "pushed\n755\n", ran.stderr
        missing_src = await conn.run("pct push 200 /tmp/upload/nope /root/x")
        assert missing_src.exit_status == 255 and "failed to open /tmp/upload/nope" in missing_src.stderr
        pulled = await conn.run("pct pull 200 /etc/hostname /tmp/hostname.txt")
        assert pulled.exit_status == 0, pulled.stderr
        async with conn.start_sftp_client() as sftp, sftp.open("/tmp/hostname.txt") as handle:
            assert await handle.read() == "ct200\n"
        await node.pve.wait(await node.pve.data("POST", "/nodes/pve1/lxc/200/status/stop"))
        refused = await conn.run("pct push 200 /tmp/upload/payload.sh /root/again.sh")
        assert (refused.exit_status, refused.stderr) == (255, "can only push files to a running CT\n")


async def test_wrong_key_and_wrong_user_refused(node: Node, tmp_path: Path) -> None:
    other = tmp_path / "other_key"
    other.write_bytes(asyncssh.generate_private_key("ssh-ed25519").export_private_key())
    with pytest.raises(asyncssh.PermissionDenied):
        async with node.connect(key=other):
            pass
    with pytest.raises(asyncssh.PermissionDenied):
        async with node.connect(username="admin"):
            pass


async def test_host_key_matches_state_file(node: Node) -> None:
    async with node.connect() as conn:  # known_hosts built from the state dir's public key: strict check passes
        served = conn.get_server_host_key()
    assert served.export_public_key().decode().split()[:2] == node.host_pub.read_text().split()[:2]


async def test_node_side_helpers_stay_in_the_scratch_dir(node: Node, tmp_path: Path) -> None:
    async with node.connect() as conn:
        assert (await conn.run("pveversion")).stdout.startswith("pve-manager/9.1")
        assert (await conn.run("mkdir -p /tmp/deploy/x")).exit_status == 0
        async with conn.start_sftp_client() as sftp, sftp.open("/tmp/deploy/x/script.sh", "w") as handle:
            await handle.write("echo hi\n")
        assert (await conn.run("test -f /tmp/deploy/x/script.sh")).exit_status == 0
        assert (await conn.run("cat /tmp/deploy/x/script.sh")).stdout == "echo hi\n"
        assert (await conn.run("rm -rf /tmp/deploy")).exit_status == 0
        assert (await conn.run("test -e /tmp/deploy")).exit_status == 1
        missing = await conn.run("rm /tmp/nope")
        assert missing.exit_status == 1 and "No such file or directory" in missing.stderr
        escape = await conn.run("rm -rf /../../etc")
        assert escape.exit_status == 1 and "outside" in escape.stderr
        root = await conn.run("rm -rf /")
        assert root.exit_status == 1 and "dangerous" in root.stderr
    assert (node.pve.sim.config.state_dir / "nodes/pve1").is_dir()
