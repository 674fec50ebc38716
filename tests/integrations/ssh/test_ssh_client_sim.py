"""SSHNodeClient against the PVE simulator's SSH server (memory backend): pct helpers, files, secrets, keys."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import uuid

import asyncssh
import pytest
import structlog
from ssh_servers import SimNode

from lxc_manager.core.logging import configure_logging
from lxc_manager.integrations.ssh import (
    PctError,
    PctNotFound,
    PctNotRunning,
    SSHAuthError,
    SSHCommandError,
    SSHHostKeyMismatch,
    SSHNodeClient,
    format_env_file,
)
from processes import pids_running, sleeping


def exists(path: str | os.PathLike[str]) -> bool:
    return os.path.lexists(path)


async def test_pct_list_status_and_not_found(sim_node: SimNode) -> None:
    await sim_node.create_ct(200)
    await sim_node.create_ct(201, start=False)
    async with SSHNodeClient(sim_node.target()) as node:
        entries = await node.pct_list()
        assert [(e.vmid, e.status, e.lock, e.name) for e in entries] == [
            (200, "running", "", "ct200"), (201, "stopped", "", "ct201")]  # fmt: skip
        assert await node.pct_status(200) == "running"
        assert await node.pct_status(201) == "stopped"
        with pytest.raises(PctNotFound) as missing:
            await node.pct_status(105)
        assert missing.value.exit_status == 2 and "105.conf" in missing.value.stderr_tail
        with pytest.raises(PctNotRunning):
            await node.pct_exec(201, ["true"])
        with pytest.raises(PctNotFound):
            await node.pct_exec(105, ["true"])
    assert sim_node.commands[:3] == ["pct list", "pct status 200", "pct status 201"]


async def test_exec_streams_lines_and_reports_exit_codes(sim_node: SimNode) -> None:
    await sim_node.create_ct(200)
    seen: list[tuple[str, str]] = []

    async def on_line(stream: str, line: str) -> None:
        seen.append((stream, line))

    async with SSHNodeClient(sim_node.target()) as node:
        result = await node.pct_exec(200, ["sh", "-c", "echo one; echo two; echo oops >&2; exit 3"], check=False,
                                     on_line=on_line)  # fmt: skip
        assert (result.exit_status, result.stdout_tail, result.stderr_tail) == (3, "one\ntwo\n", "oops\n")
        assert [line for s, line in seen if s == "stdout"] == ["one", "two"] and ("stderr", "oops") in seen
        with pytest.raises(SSHCommandError) as failed:
            await node.pct_exec(200, ["sh", "-c", "echo bad >&2; exit 4"])
        assert not isinstance(failed.value, PctError)  # the command failed, not pct
        assert (failed.value.exit_status, failed.value.stderr_tail) == (4, "bad\n")
        piped = await node.pct_exec(200, ["cat"], input=b"from stdin\n")
        assert piped.stdout_tail == "from stdin\n"


async def test_injection_text_is_one_literal_argument(sim_node: SimNode) -> None:
    await sim_node.create_ct(200)
    marker = f"/tmp/pwned-{uuid.uuid4().hex}"
    package = f"x;touch {marker}"
    async with SSHNodeClient(sim_node.target()) as node:
        echoed = await node.pct_exec(200, ["echo", package, f"$(touch {marker})", f"`touch {marker}`"])
    assert echoed.stdout_tail == f"{package} $(touch {marker}) `touch {marker}`\n"
    assert not exists(marker) and not exists(sim_node.ct_path(200, marker))


async def test_upload_push_pull_and_cleanup(sim_node: SimNode) -> None:
    await sim_node.create_ct(200)
    async with SSHNodeClient(sim_node.target()) as node:
        path = await node.upload(b"#!/bin/sh\necho pushed\n", "setup.sh", 0o700)
        private = await node.private_dir()
        assert path == f"{private}/setup.sh" and private.startswith("/tmp/lxcm-")
        on_node = sim_node.scratch / path.lstrip("/")
        assert stat.S_IMODE(on_node.parent.stat().st_mode) == 0o700 and stat.S_IMODE(on_node.stat().st_mode) == 0o700
        await node.pct_push(200, path, "/root/setup.sh", perms=0o755)
        ran = await node.pct_exec(200, ["/root/setup.sh"])
        assert ran.stdout_tail == "pushed\n"
        assert await node.pull_file(200, "/etc/hostname") == b"ct200\n"
        with pytest.raises(PctError, match="failed to open"):
            await node.pct_push(200, f"{private}/missing", "/root/x")
        for bad in ("../x", "a/b", ".", ""):
            with pytest.raises(ValueError):
                await node.upload(b"x", bad)
        await node.cleanup()
        assert not on_node.parent.exists()
        second = await node.upload(b"again", "f")  # a fresh private dir after cleanup
        assert not second.startswith(private)
    assert not (sim_node.scratch / second.lstrip("/")).parent.exists()  # leaving the context cleans up


async def test_concurrent_clients_share_a_missing_remote_tmp(sim_node: SimNode) -> None:
    # Several deployments open their first SFTP session at once: all find remote_tmp missing and create it.
    remote_tmp = f"/tmp/fresh-{uuid.uuid4().hex}/work"

    async def one_upload() -> str:
        async with SSHNodeClient(sim_node.target(), remote_tmp=remote_tmp) as node:
            path = await node.upload(b"x", "f")
            assert (sim_node.scratch / path.lstrip("/")).read_bytes() == b"x"
            return path

    paths = await asyncio.gather(*(one_upload() for _ in range(12)))
    assert len({p.rsplit("/", 2)[1] for p in paths}) == 12  # one private dir each
    assert (sim_node.scratch / remote_tmp.lstrip("/")).is_dir()


async def test_secret_file_reaches_the_ct_only(sim_node: SimNode, caplog: pytest.LogCaptureFixture) -> None:
    await sim_node.create_ct(200)
    secret = f"CANARY-{uuid.uuid4().hex}"
    configure_logging("DEBUG", json=True)  # an earlier app test may have left structlog filtering at INFO
    logging.getLogger().addHandler(caplog.handler)  # configure_logging replaced the root handlers
    asyncssh.set_debug_level(2)
    caplog.set_level(logging.DEBUG)
    try:
        with structlog.testing.capture_logs() as events:
            async with SSHNodeClient(sim_node.target()) as node:
                await node.push_secret_file(200, format_env_file({"DB_PASSWORD": secret}), "/root/.app.env")
                shown = await node.pct_exec(200, ["printenv", "DB_PASSWORD"], env_file="/root/.app.env")
                leftovers = list((sim_node.scratch / (await node.private_dir()).lstrip("/")).iterdir())
    finally:
        asyncssh.set_debug_level(1)
    assert shown.stdout_tail == secret + "\n"  # the command got it through its environment
    in_ct = sim_node.ct_path(200, "/root/.app.env")
    assert stat.S_IMODE(in_ct.stat().st_mode) == 0o600
    assert leftovers == []  # the node copy was deleted right after the push
    assert sim_node.commands and not any(secret in command for command in sim_node.commands)
    assert any(command.startswith("pct push 200 /tmp/lxcm-") for command in sim_node.commands)
    assert caplog.records and secret not in caplog.text
    assert events and secret not in repr(events)
    with pytest.raises(ValueError):
        await SSHNodeClient(sim_node.target()).push_secret_file(200, b"x", "/root/y", perms=0o644)


async def test_host_key_mismatch_aborts_before_anything_runs(sim_node: SimNode, stranger_host_line: str) -> None:
    with pytest.raises(SSHHostKeyMismatch):
        async with SSHNodeClient(sim_node.target(host_key=stranger_host_line)) as node:
            await node.run(["pct", "list"])
    assert sim_node.commands == []


async def test_wrong_client_key_is_an_auth_error(sim_node: SimNode, stranger_key: asyncssh.SSHKey) -> None:
    with pytest.raises(SSHAuthError):
        async with SSHNodeClient(sim_node.target(client_key=stranger_key)):
            pass
    assert sim_node.commands == []


async def test_the_simulator_refuses_signals_like_a_root_sshd_and_the_tether_stops_the_command(
    sim_node: SimNode,
) -> None:
    await sim_node.create_ct(200)
    seconds = 100_000 + uuid.uuid4().int % 800_000
    key = asyncssh.import_private_key(sim_node.target().private_key_pem)
    known = asyncssh.import_known_hosts(f"[127.0.0.1]:{sim_node.port} {sim_node.host_pub}\n")
    async with (
        SSHNodeClient(sim_node.target()) as node,
        asyncssh.connect("127.0.0.1", sim_node.port, username="root", client_keys=[key], known_hosts=known) as conn,
    ):
        untethered = await conn.create_process(f"pct exec 200 -- sleep {seconds}")
        tethered = asyncio.create_task(node.pct_exec(200, ["sleep", str(seconds + 1)]))
        for _ in range(500):
            if sleeping(seconds) and sleeping(seconds + 1):
                break
            await asyncio.sleep(0.02)
        untethered.send_signal("TERM")  # refused, as by OpenSSH for root: the command runs on
        tethered.cancel()
        with pytest.raises(asyncio.CancelledError):
            await tethered
        for _ in range(500):
            if not sleeping(seconds + 1):
                break
            await asyncio.sleep(0.02)
        assert sleeping(seconds + 1) == 0
        assert sleeping(seconds) == 1
        untethered.close()  # no tether: the closed channel does not stop a silent command either
        await asyncio.sleep(0.5)
        assert sleeping(seconds) == 1
    for pid in pids_running(["sleep", str(seconds)]):
        with contextlib.suppress(OSError):
            os.kill(pid, 9)


async def test_closing_a_channel_while_its_command_writes_keeps_the_connection(sim_node: SimNode) -> None:
    await sim_node.create_ct(200)
    key = asyncssh.import_private_key(sim_node.target().private_key_pem)
    known = asyncssh.import_known_hosts(f"[127.0.0.1]:{sim_node.port} {sim_node.host_pub}\n")
    async with asyncssh.connect("127.0.0.1", sim_node.port, username="root", client_keys=[key],
                                known_hosts=known) as conn:  # fmt: skip
        for stream in ("", ">&2"):  # stdout, then stderr
            chatty = await conn.create_process(f"pct exec 200 -- sh -c 'while :; do echo tick {stream}; done'")
            await chatty.stdout.read(1) if not stream else await chatty.stderr.read(1)
            chatty.close()
            await chatty.wait_closed()
            await asyncio.sleep(0.2)  # the command writes into the closed channel meanwhile
            assert (await conn.run("pct status 200")).stdout == "status: running\n"
