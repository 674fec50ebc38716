"""SSHNodeClient against a real OpenSSH sshd on 127.0.0.1 (started by the fixture; mandatory under CI=true)."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import uuid
from pathlib import Path

import asyncssh
import pytest
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ssh_servers import OpenSSHServer

from lxc_manager.core.logging import configure_logging
from lxc_manager.integrations.ssh import (
    PctNotFound,
    SSHAuthError,
    SSHCommandError,
    SSHConnectError,
    SSHHostKeyMismatch,
    SSHNodeClient,
    SSHTimeout,
    format_env_file,
)
from processes import pids_running, unique_seconds


async def eventually(predicate: object, what: str, attempts: int = 500) -> None:
    for _ in range(attempts):
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for: {what}")


def exists(path: str | os.PathLike[str]) -> bool:
    return os.path.lexists(path)


def mode_of(path: str | Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def listing(path: str | Path) -> list[str]:
    return sorted(os.listdir(path))


def running_with(marker: str) -> bool:
    """Whether any process has ``marker`` in its command line."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes().replace(b"\0", b" "):
                    return True
            except OSError:
                continue
    return False


async def test_run_exit_codes_and_tails(openssh: OpenSSHServer) -> None:
    async with SSHNodeClient(openssh.target()) as node:
        ok = await node.run(["sh", "-c", "echo out; echo err >&2"])
        assert (ok.exit_status, ok.stdout_tail, ok.stderr_tail) == (0, "out\n", "err\n")
        failed = await node.run(["sh", "-c", "echo why >&2; exit 7"], check=False)
        assert (failed.exit_status, failed.stderr_tail) == (7, "why\n")
        with pytest.raises(SSHCommandError) as raised:
            await node.run(["sh", "-c", "seq 1 500 >&2; exit 9"], tail_lines=3)
        assert raised.value.exit_status == 9 and raised.value.stderr_tail == "498\n499\n500\n"
        with pytest.raises(PctNotFound):
            await node.pct_status(4242)
        piped = await node.run(["wc", "-c"], input=b"x" * 1_000_000)  # larger than any channel window
        assert piped.stdout_tail.strip() == "1000000"


async def test_lines_are_streamed_as_they_arrive_in_order(openssh: OpenSSHServer, tmp_path: Path) -> None:
    # Each step of the remote script waits for an acknowledgement file that only our on_line callback creates:
    # the test can only finish if every line reached us before the command went on.
    script = ("echo first; until [ -e \"$1/ack1\" ]; do sleep 0.01; done; echo second >&2; "
              "until [ -e \"$1/ack2\" ]; do sleep 0.01; done; printf 'third\\nno-newline'")  # fmt: skip
    seen: list[tuple[str, str]] = []

    async def on_line(stream: str, line: str) -> None:
        seen.append((stream, line))
        if line in {"first", "second"}:
            (tmp_path / f"ack{len(seen)}").touch()

    async with SSHNodeClient(openssh.target()) as node:
        result = await node.run(["sh", "-c", script, "sh", str(tmp_path)], on_line=on_line, timeout=60)
    assert seen == [("stdout", "first"), ("stderr", "second"), ("stdout", "third"), ("stdout", "no-newline")]
    assert result.stdout_tail == "first\nthird\nno-newline\n"


def ticker(marker: str) -> list[str]:
    """A command that prints a line every 20 ms until it is stopped; ``marker`` makes its process findable."""
    return ["sh", "-c", f": {marker}; while :; do echo tick; sleep 0.02; done"]


async def test_timeout_closes_the_channel_and_keeps_the_connection(openssh: OpenSSHServer) -> None:
    marker = f"ticker-{uuid.uuid4().hex}"
    async with SSHNodeClient(openssh.target(plain=True)) as node:
        with pytest.raises(SSHTimeout) as raised:
            await node.run(ticker(marker), timeout=0.5)
        assert raised.value.argv == ticker(marker)
        # sshd refuses `signal` requests for root logins; the closed channel stops the command at its next write.
        await eventually(lambda: not running_with(marker), "the timed-out remote command to end")
        assert (await node.run(["echo", "still here"])).stdout_tail == "still here\n"


async def test_cancel_closes_the_channel_and_stops_the_command(openssh: OpenSSHServer) -> None:
    marker = f"ticker-{uuid.uuid4().hex}"
    started = asyncio.Event()

    async def on_line(stream: str, line: str) -> None:
        started.set()

    async with SSHNodeClient(openssh.target(plain=True)) as node:
        task = asyncio.create_task(node.run(ticker(marker), on_line=on_line))
        await asyncio.wait_for(started.wait(), 30)
        assert running_with(marker)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await eventually(lambda: not running_with(marker), "the cancelled remote command to end")
        assert (await node.run(["true"])).exit_status == 0


async def test_host_key_mismatch_aborts_before_authentication(openssh: OpenSSHServer, stranger_host_line: str) -> None:
    before_commands, before_log = len(openssh.commands()), openssh.log_text()
    with pytest.raises(SSHHostKeyMismatch):
        async with SSHNodeClient(openssh.target(host_key=stranger_host_line)) as node:
            await node.run(["touch", "/tmp/should-not-exist"])
    new_log = openssh.log_text()[len(before_log) :]
    assert len(openssh.commands()) == before_commands
    assert "Accepted publickey" not in new_log and "Postponed publickey" not in new_log


async def test_wrong_client_key_is_an_auth_error(openssh: OpenSSHServer, stranger_key: asyncssh.SSHKey) -> None:
    before = len(openssh.commands())
    with pytest.raises(SSHAuthError):
        async with SSHNodeClient(openssh.target(client_key=stranger_key)):
            pass
    assert len(openssh.commands()) == before


async def test_refused_port_is_a_connect_error(openssh: OpenSSHServer) -> None:
    target = openssh.target()
    closed = type(target)(target.host, 1, target.username, target.private_key_pem, target.host_key)
    with pytest.raises(SSHConnectError):
        async with SSHNodeClient(closed, connect_timeout=5):
            pass


async def test_shell_metacharacters_run_nothing(openssh: OpenSSHServer) -> None:
    marker = f"/tmp/pwned-{uuid.uuid4().hex}"
    hostile = [f"x;touch {marker}", f"$(touch {marker})", f"`touch {marker}`", f"a\ntouch {marker}",
               f"' ; touch {marker} ; '", f"&& touch {marker}", f"| touch {marker}"]  # fmt: skip
    async with SSHNodeClient(openssh.target()) as node:
        direct = await node.run(["printf", "%s\\0", *hostile])
        via_pct = await node.pct_exec(100, ["printf", "%s\\0", *hostile])
    for result in (direct, via_pct):
        assert result.stdout_tail.rstrip("\n").split("\0")[:-1] == hostile
    assert not exists(marker)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30),
                         min_size=1, max_size=8), min_size=1, max_size=3))  # fmt: skip
async def test_argv_arrives_intact_through_the_login_shell(openssh: OpenSSHServer, argvs: list[list[str]]) -> None:
    # root's own login shell splits the command line; each argument comes back hex-encoded on its own line.
    dump = "import os, sys; print(*(a.hex() for a in map(os.fsencode, sys.argv[1:])), sep='\\n')"
    async with SSHNodeClient(openssh.target(plain=True)) as node:
        for argv in argvs:
            result = await node.run(["python3", "-c", dump, *argv], tail_lines=None)
            assert result.stdout_tail.splitlines() == [a.encode().hex() for a in argv]


async def test_upload_private_dir_modes_and_cleanup(openssh: OpenSSHServer) -> None:
    async with SSHNodeClient(openssh.target()) as node:
        path = await node.upload(b"payload", "script.sh", 0o700)
        secret = await node.upload(b"secret", "creds")
        read_only = await node.upload(b"fixed", "ro", 0o400)
        directory = os.path.dirname(path)
        assert mode_of(directory) == 0o700 and listing(directory) == ["creds", "ro", "script.sh"]
        assert mode_of(path) == 0o700 and mode_of(secret) == 0o600 and mode_of(read_only) == 0o400
        assert (await node.run(["cat", path])).stdout_tail == "payload\n"
        await node.cleanup()
        assert not exists(directory)


async def test_secret_never_in_command_lines_or_logs(openssh: OpenSSHServer, caplog: pytest.LogCaptureFixture) -> None:
    secret = f"CANARY-{uuid.uuid4().hex}"
    vmid = 100 + uuid.uuid4().int % 1000
    configure_logging("DEBUG", json=True)  # an earlier app test may have left structlog filtering at INFO
    logging.getLogger().addHandler(caplog.handler)  # configure_logging replaced the root handlers
    asyncssh.set_debug_level(2)
    caplog.set_level(logging.DEBUG)
    try:
        with structlog.testing.capture_logs() as events:
            async with SSHNodeClient(openssh.target()) as node:
                await node.push_secret_file(vmid, format_env_file({"API_TOKEN": secret}), "/etc/app/env")
                leftovers = listing(await node.private_dir())
                shown = await node.pct_exec(vmid, ["printenv", "API_TOKEN"],
                                            env_file=str(openssh.root / "ct" / str(vmid) / "etc/app/env"))  # fmt: skip
    finally:
        asyncssh.set_debug_level(1)
    in_ct = openssh.root / "ct" / str(vmid) / "etc/app/env"
    assert mode_of(in_ct) == 0o600
    assert shown.stdout_tail == secret + "\n"
    assert leftovers == []
    commands = openssh.commands()
    assert any(c.startswith(f"pct push {vmid} /tmp/lxcm-") and c.endswith("/etc/app/env --perms 0600")
               for c in commands)  # fmt: skip
    assert not any(secret in c for c in commands)
    assert secret not in openssh.log_text()
    assert caplog.records and secret not in caplog.text
    assert events and secret not in repr(events)


async def test_reconnects_after_the_connection_dropped(openssh: OpenSSHServer) -> None:
    async with SSHNodeClient(openssh.target(), keepalive_interval=0.2) as node:
        assert (await node.run(["echo", "one"])).stdout_tail == "one\n"
        sessions = openssh.session_pids()
        assert sessions
        for pid in sessions:  # drop every server-side connection process we (the fixture) started
            os.kill(pid, 9)
        assert (await node.run(["echo", "two"])).stdout_tail == "two\n"


async def test_per_node_session_limit(openssh: OpenSSHServer, tmp_path: Path) -> None:
    running = 0
    peak = 0
    starts = 0

    async def on_line(stream: str, line: str) -> None:
        nonlocal running, peak, starts
        if line == "start":
            running, starts = running + 1, starts + 1
            peak = max(peak, running)
        elif line == "end":
            running -= 1

    script = 'echo start; until [ -e "$1/go" ]; do sleep 0.01; done; echo end'
    async with SSHNodeClient(openssh.target(), max_sessions=2) as first, SSHNodeClient(openssh.target()) as second:
        # Both clients talk to the same node, so they share its limit (set by the first client created).
        tasks = [asyncio.create_task(client.run(["sh", "-c", script, "sh", str(tmp_path)], on_line=on_line))
                 for client in (first, second, first, second, first)]  # fmt: skip
        await eventually(lambda: starts == 2, "two commands to start")
        await asyncio.sleep(0.3)  # room for a third one to (wrongly) start
        assert starts == 2
        (tmp_path / "go").touch()
        await asyncio.gather(*tasks)
    assert (starts, peak) == (5, 2)


async def test_overlong_lines_arrive_in_bounded_pieces(openssh: OpenSSHServer) -> None:
    pieces: list[int] = []

    async def on_line(stream: str, line: str) -> None:
        pieces.append(len(line))

    async with SSHNodeClient(openssh.target()) as node:
        await node.run(["sh", "-c", "head -c 200000 /dev/zero | tr '\\0' a; echo; echo short"], on_line=on_line)
    assert pieces == [65536, 65536, 65536, 200000 - 3 * 65536, 5]


async def test_a_silent_server_is_a_connect_timeout(openssh: OpenSSHServer) -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # never sends an SSH banner

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    target = openssh.target()
    silent = type(target)(target.host, port, target.username, target.private_key_pem, target.host_key)
    try:
        with pytest.raises(SSHTimeout):
            async with SSHNodeClient(silent, connect_timeout=0.5):
                pass
        assert accepted
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_failing_line_callback_stops_the_command(openssh: OpenSSHServer) -> None:
    marker = f"ticker-{uuid.uuid4().hex}"

    async def on_line(stream: str, line: str) -> None:
        raise RuntimeError("event store is down")

    async with SSHNodeClient(openssh.target(plain=True)) as node:
        with pytest.raises(RuntimeError, match="event store is down"):
            await node.run(ticker(marker), on_line=on_line)
        await eventually(lambda: not running_with(marker), "the remote command to end")
        assert (await node.run(["echo", "ok"])).stdout_tail == "ok\n"


async def test_a_silent_command_outlives_its_channel_unless_it_is_tethered(openssh: OpenSSHServer) -> None:
    seconds = unique_seconds()
    async with SSHNodeClient(openssh.target(plain=True)) as node:
        # The premise, on a real sshd logged in as root: the signal request is refused and the closed channel
        # reaches a command only when it writes, so a silent one runs on.
        with pytest.raises(SSHTimeout):
            await node.run(["sleep", str(seconds)], timeout=0.5)
        await asyncio.sleep(1)
        orphans = pids_running(["sleep", str(seconds)])
        assert len(orphans) == 1
        os.kill(orphans[0], 9)
        with pytest.raises(SSHTimeout) as raised:
            await node.run(["sleep", str(seconds + 1)], timeout=0.5, tether=True)
        assert raised.value.argv == ["sleep", str(seconds + 1)]  # errors name the command, not the tether
        await eventually(lambda: not pids_running(["sleep", str(seconds + 1)]), "the tethered command to end")
        assert (await node.run(["echo", "ok"], tether=True)).stdout_tail == "ok\n"
        with pytest.raises(ValueError, match="tethered"):
            await node.run(["cat"], input=b"x", tether=True)


async def test_a_cancelled_pct_exec_stops_the_silent_command_in_the_ct(openssh: OpenSSHServer) -> None:
    seconds = unique_seconds()
    async with SSHNodeClient(openssh.target()) as node:
        task = asyncio.create_task(node.pct_exec(100, ["sh", "-c", f"sleep {seconds}; echo late"]))
        await eventually(lambda: len(pids_running(["sleep", str(seconds)])) == 1, "the command to start")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await eventually(lambda: not pids_running(["sleep", str(seconds)]), "the cancelled command to end")
        assert (await node.pct_exec(100, ["sh", "-c", "cat; exit 3"], check=False)).exit_status == 3
        assert (await node.pct_exec(100, ["cat"], input=b"piped\n")).stdout_tail == "piped\n"  # no tether
    assert any(c.startswith("pct exec 100 -- /bin/sh -c ") and "lxcm-tether sh -c" in c for c in openssh.commands())


async def test_a_lost_connection_stops_a_tethered_command(openssh: OpenSSHServer) -> None:
    """The worker dies or the network drops: sshd closes the channel, the tether ends what it was running."""
    seconds = unique_seconds()
    async with SSHNodeClient(openssh.target()) as node:
        task = asyncio.create_task(node.pct_exec(100, ["sleep", str(seconds)]))
        await eventually(lambda: len(pids_running(["sleep", str(seconds)])) == 1, "the command to start")
        for pid in openssh.session_pids():  # the node-side end of every connection goes away
            os.kill(pid, 9)
        await eventually(lambda: not pids_running(["sleep", str(seconds)]), "the orphaned command to end")
        with pytest.raises(SSHConnectError):
            await task
