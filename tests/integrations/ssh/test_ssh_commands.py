"""Command building (argv → one shell string → the same argv), pct argv builders, error mapping, target repr."""

from __future__ import annotations

import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ssh_servers import new_key, public_line

from lxc_manager.integrations.ssh import (
    PctError,
    PctLocked,
    PctNotFound,
    PctNotRunning,
    SSHCommandError,
    SSHNodeClient,
    SSHTarget,
    build_command,
    format_env_file,
    pct_exec_argv,
)
from lxc_manager.integrations.ssh.commands import (
    ENV_FILE_LOADER,
    TETHER,
    TETHER_KILL_GRACE_S,
    PctListEntry,
    parse_pct_list,
    pct_pull_argv,
    pct_push_argv,
    pct_status_argv,
    tethered,
)
from lxc_manager.integrations.ssh.errors import classify_pct_failure
from processes import sleeping, unique_seconds

# Any text a command line can carry: everything but NUL and lone surrogates (not encodable as UTF-8).
ARG = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40)
SHELLISH = st.sampled_from(["'", '"', "\\", "$", "`", ";", "|", "&", "\n", "*", " ", "-", "--", "$(id)", "~", "#"])
ARGV = st.lists(st.one_of(ARG, SHELLISH, st.lists(SHELLISH, max_size=6).map("".join)), min_size=1, max_size=12)


@given(ARGV)
def test_shlex_split_of_built_command_is_argv(argv: list[str]) -> None:
    assert shlex.split(build_command(argv)) == argv


@settings(max_examples=60, deadline=None)
@given(ARGV)
def test_a_real_posix_shell_splits_the_built_command_back_into_argv(argv: list[str]) -> None:
    # What sshd does with the command: `$SHELL -c STRING`. printf prints each argument NUL-terminated.
    output = subprocess.run(["/bin/sh", "-c", build_command(["printf", "%s\\0", *argv])], capture_output=True,
                            check=True).stdout  # fmt: skip
    assert output.decode().split("\0")[:-1] == argv


def test_build_command_refuses_what_cannot_be_an_argument() -> None:
    for bad in ("echo hi", b"echo", [], ["echo", "a\x00b"], ["echo", "\udcff"], ["echo", 3]):
        with pytest.raises(ValueError):
            build_command(bad)  # type: ignore[arg-type]


def test_pct_exec_argv_separates_pct_options_from_the_command() -> None:
    assert pct_exec_argv(100, ["apt-get", "install", "-y", "x;touch /tmp/p"]) == [
        "pct", "exec", "100", "--", "apt-get", "install", "-y", "x;touch /tmp/p"]  # fmt: skip
    with_env = pct_exec_argv(999_999_999, ["true"], env_file="/root/.env")
    assert with_env == ["pct", "exec", "999999999", "--", "/bin/sh", "-c", ENV_FILE_LOADER, "lxcm-env", "/root/.env",
                        "true"]  # fmt: skip
    for vmid in (99, 1_000_000_000, -1, True, "100", 100.0):
        with pytest.raises(ValueError):
            pct_exec_argv(vmid, ["true"])  # type: ignore[arg-type]
    for argv in ([], ["-oProxyCommand=touch /tmp/x"], ["--help"]):
        with pytest.raises(ValueError):
            pct_exec_argv(100, argv)
    with pytest.raises(ValueError):
        pct_exec_argv(100, ["true"], env_file="--rcfile")


def test_pct_exec_argv_with_the_tether_runs_it_inside_the_ct() -> None:
    assert pct_exec_argv(100, ["sleep", "9"], tether=True) == [
        "pct", "exec", "100", "--", "/bin/sh", "-c", TETHER, "lxcm-tether", "sleep", "9"]  # fmt: skip
    assert pct_exec_argv(100, ["true"], env_file="/e", tether=True) == [
        "pct", "exec", "100", "--", "/bin/sh", "-c", TETHER, "lxcm-tether", "/bin/sh", "-c", ENV_FILE_LOADER,
        "lxcm-env", "/e", "true"]  # fmt: skip
    assert tethered(["x y", "$(id)"]) == ["/bin/sh", "-c", TETHER, "lxcm-tether", "x y", "$(id)"]


# The shells a CT's /bin/sh may be: Debian's dash, bash, busybox ash (Alpine); scripts/install-test-deps.sh has them.
SHELLS = [shell for shell in ("dash", "bash", "busybox") if shutil.which(shell)]


def _tethered_process(shell: str, script: str) -> subprocess.Popen[bytes]:
    """``TETHER`` in ``shell`` around ``sh -c SCRIPT``; our end of its stdin pipe stands for the SSH channel."""
    prefix = [shell, "sh"] if shell == "busybox" else [shell]
    return subprocess.Popen([*prefix, "-c", TETHER, "lxcm-tether", "/bin/sh", "-c", script],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def _wait_for(predicate: Callable[[], bool], within: float, what: str) -> float:
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < within, f"timed out after {within}s waiting for {what}"
        time.sleep(0.02)
    return time.monotonic() - started


@pytest.mark.parametrize("shell", SHELLS)
def test_the_tether_passes_output_and_exit_status_through(shell: str) -> None:
    # Our end of stdin stays open, as the client holds it: the command still reads end-of-file and ends by itself.
    process = _tethered_process(shell, "cat; echo out; echo err >&2; exit 7")
    assert process.stdout is not None and process.stderr is not None and process.stdin is not None
    assert (process.stdout.read(), process.stderr.read(), process.wait(30)) == (b"out\n", b"err\n", 7)
    process.stdin.close()


@pytest.mark.parametrize("shell", SHELLS)
def test_closing_the_channel_stops_a_silent_command_and_its_children(shell: str) -> None:
    seconds = unique_seconds()
    process = _tethered_process(shell, f"sleep {seconds} & sleep {seconds + 1}; wait")
    _wait_for(lambda: sleeping(seconds) == 1 and sleeping(seconds + 1) == 1, 30, "the command to start")
    assert process.stdin is not None
    process.stdin.close()  # what sshd does when the channel closes
    _wait_for(lambda: sleeping(seconds) + sleeping(seconds + 1) == 0, 10, "the command's processes to end")
    assert process.wait(10) == 128 + signal.SIGTERM


@pytest.mark.skipif(not SHELLS, reason="no POSIX shell")
def test_a_command_that_ignores_term_is_killed_after_the_grace() -> None:
    seconds = unique_seconds()
    process = _tethered_process(SHELLS[0], f'trap "" TERM; sleep {seconds}; echo survived')
    _wait_for(lambda: sleeping(seconds) == 1, 30, "the command to start")
    assert process.stdin is not None and process.stdout is not None
    process.stdin.close()
    took = _wait_for(lambda: sleeping(seconds) == 0, TETHER_KILL_GRACE_S + 10, "the KILL after the grace")
    assert took >= TETHER_KILL_GRACE_S - 1  # TERM was ignored (the trap): only the KILL ended it
    assert process.wait(10) == 128 + signal.SIGKILL and process.stdout.read() == b""


def test_pct_push_pull_status_argv() -> None:
    assert pct_push_argv(101, "/tmp/d/f", "/etc/app.conf", perms=0o640, user="www-data", group="0") == [
        "pct", "push", "101", "/tmp/d/f", "/etc/app.conf", "--perms", "0640", "--user", "www-data",
        "--group", "0"]  # fmt: skip
    assert pct_pull_argv(101, "/etc/hostname", "/tmp/d/h") == ["pct", "pull", "101", "/etc/hostname", "/tmp/d/h"]
    assert pct_status_argv(123) == ["pct", "status", "123"]
    for source, dest in (("-perms", "/x"), ("/x", "--user=root"), ("rel/path", "/x"), ("/x", "/a\nb")):
        with pytest.raises(ValueError):
            pct_push_argv(101, source, dest)
    for user in ("root; rm -rf /", "-x", "", "a b"):
        with pytest.raises(ValueError):
            pct_push_argv(101, "/a", "/b", user=user)
    for perms in (-1, 0o10000, True):
        with pytest.raises(ValueError):
            pct_push_argv(101, "/a", "/b", perms=perms)


def test_env_file_is_sourced_verbatim_by_a_real_shell(tmp_path: pytest.TempPathFactory) -> None:
    values = {"PLAIN": "v", "TRICKY": "a'b\"c $(touch /tmp/nope) `id` \\ \n end", "EMPTY": ""}
    path = tmp_path / "env"  # type: ignore[operator]
    path.write_bytes(format_env_file(values))
    script = build_command(["/bin/sh", "-c", ENV_FILE_LOADER, "lxcm-env", str(path), "/bin/sh", "-c",
                            'printf "%s\\0" "$PLAIN" "$TRICKY" "$EMPTY"'])  # fmt: skip
    output = subprocess.run(["/bin/sh", "-c", script], capture_output=True, check=True).stdout
    assert output.decode().split("\0")[:-1] == list(values.values())
    for name in ("1X", "A-B", "A B", ""):
        with pytest.raises(ValueError):
            format_env_file({name: "x"})


@pytest.mark.parametrize(
    ("argv", "status", "stderr", "expected"),
    [
        (["pct", "status", "105"], 2, "Configuration file 'nodes/pve1/lxc/105.conf' does not exist\n", PctNotFound),
        (["pct", "exec", "105", "--", "true"], 2, "Configuration file 'nodes/pve/lxc/105.conf' does not exist\n",
         PctNotFound),
        (["pct", "exec", "100", "--", "true"], 255, "CT 100 not running\n", PctNotRunning),
        (["pct", "exec", "100", "--", "true"], 1, "lxc-attach: 100: ../src/lxc/attach.c: get_attach_context: 405 "
         "Connection refused - Failed to get init pid\n", PctNotRunning),
        (["pct", "push", "100", "/a", "/b"], 255, "can only push files to a running CT\n", PctNotRunning),
        (["pct", "push", "100", "/a", "/b"], 255, "CT is locked (backup)\n", PctLocked),
        (["pct", "push", "100", "/a", "/b"], 255, "failed to open /a for reading\n", PctError),
        (["pct", "exec", "100", "--", "apt-get", "install", "x"], 100, "E: Unable to locate package x\n",
         SSHCommandError),
    ],
)  # fmt: skip
def test_pct_failures_are_classified(argv: list[str], status: int, stderr: str, expected: type) -> None:
    error = classify_pct_failure(argv, status, stderr)
    assert type(error) is expected
    assert (error.argv, error.exit_status, error.stderr_tail) == (argv, status, stderr)


def test_target_repr_redacts_the_private_key_and_validates_the_pin() -> None:
    client, host = new_key(), new_key()
    pem = client.export_private_key().decode()
    target = SSHTarget("10.0.0.5", 22, "root", pem, public_line(host))
    for text in (repr(target), str(target), f"{target}"):
        assert "PRIVATE KEY" not in text and pem.splitlines()[1] not in text and "redacted" in text
    assert target.host_key_fingerprint.startswith("SHA256:")
    known_hosts_line = SSHTarget("10.0.0.5", 22, "root", pem, f"pve1,10.0.0.5 {public_line(host)}")
    assert known_hosts_line.pinned_key() == target.pinned_key()
    for bad_pin in ("", "not a key", "ssh-ed25519 AAAAnotbase64"):
        with pytest.raises(ValueError):
            SSHTarget("10.0.0.5", 22, "root", pem, bad_pin)
    with pytest.raises(ValueError):
        SSHTarget("10.0.0.5", 0, "root", pem, public_line(host))


def test_pct_list_columns_including_an_empty_or_set_lock() -> None:
    output = (f"{'VMID':<10} {'Status':<10} {'Lock':<12} {'Name':<20}\n"
              f"{100:<10} {'running':<10} {'':<12} {'web':<20}\n"
              f"{101:<10} {'stopped':<10} {'backup':<12} {'db-1':<20}\n")  # fmt: skip
    assert parse_pct_list(output) == [
        PctListEntry(100, "running", "", "web"),
        PctListEntry(101, "stopped", "backup", "db-1"),
    ]
    assert parse_pct_list("") == []


def test_an_unreadable_client_key_is_refused_without_echoing_it() -> None:
    garbage = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LW1hdGVyaWFs\n-----END OPENSSH PRIVATE KEY-----\n"
    target = SSHTarget("10.0.0.5", 22, "root", garbage, public_line(new_key()))
    with pytest.raises(ValueError) as raised:
        SSHNodeClient(target)
    assert "c2VjcmV0" not in str(raised.value) and raised.value.__cause__ is None
