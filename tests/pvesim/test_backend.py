"""The memory container backend: sandbox paths, shims with state, snapshots copying the sandbox."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from lxc_manager.pvesim.backend import BackendError, MemoryBackend

TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


async def _run(backend: MemoryBackend, vmid: int, *argv: str) -> tuple[int, str, str]:
    out: list[bytes] = []
    err: list[bytes] = []

    async def to_out(data: bytes) -> None:
        out.append(data)

    async def to_err(data: bytes) -> None:
        err.append(data)

    code = await backend.exec(vmid, list(argv), None, to_out, to_err)
    return code, b"".join(out).decode(), b"".join(err).decode()


@pytest.fixture(params=["prefix", "chroot"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> MemoryBackend:
    if request.param == "chroot" and (os.geteuid() != 0 or not shutil.which("unshare")):
        pytest.skip("chroot isolation needs root and unshare")
    memory = MemoryBackend(tmp_path / "containers", isolation=request.param)
    await memory.create(300, TEMPLATE, "web", "ssh-ed25519 AAAA test")
    await memory.start(300)
    return memory


async def test_paths_map_into_the_sandbox(backend: MemoryBackend) -> None:
    code, out, _ = await _run(backend, 300, "bash", "-c", 'echo hi > "$CT_ROOT/etc/motd"; pwd; echo "$HOME"')
    assert code == 0
    assert (backend.root(300) / "etc/motd").read_text() == "hi\n"
    if backend.isolation == "chroot":
        assert out == "/root\n/root\n"
        code, out, _ = await _run(backend, 300, "cat", "/etc/os-release", "/root/.ssh/authorized_keys")
        assert "ID=debian" in out and "ssh-ed25519 AAAA test" in out
    else:
        assert out.splitlines()[0] == str(backend.root(300) / "root")
    with pytest.raises(BackendError):
        backend.resolve(300, "/../../etc/passwd")


async def test_shim_calls_reach_the_simulator_with_stdin_and_exact_output(backend: MemoryBackend) -> None:
    """The wrappers are bash clients of the simulator's shim server: stdin (chpasswd), exit status, stdout and
    stderr byte for byte (multi-byte text included), and secrets fed on stdin never reach the call log."""
    code, out, err = await _run(backend, 300, "sh", "-c", "printf 'root:s3cret-pw\\n' | chpasswd; echo \"rc=$?\"")
    assert (code, out, err) == (0, "rc=0\n", "")
    code, _, err = await _run(backend, 300, "sh", "-c", "printf 'ghost:x\\n' | chpasswd")
    assert code == 1 and "(user ghost) pam_chauthtok() failed" in err
    code, out, _ = await _run(backend, 300, "apt-get", "install", "-y", "caf\u00e9-\u00fcber")
    assert code == 0 and out.endswith("Setting up caf\u00e9-\u00fcber (1.0-1) ...\n")
    calls = backend.calls(300)
    assert [c["cmd"] for c in calls] == ["chpasswd", "chpasswd", "apt-get"]
    assert "s3cret-pw" not in json.dumps(calls)
    assert calls[0]["cwd"] == "/root"  # as the container sees it, in both isolation modes


async def test_shim_writes_stay_inside_the_container(backend: MemoryBackend, tmp_path: Path) -> None:
    outside = tmp_path / "host-passwd"
    outside.write_text("host:x:0:0::/:/bin/sh\n")
    passwd = backend.root(300) / "etc/passwd"
    passwd.unlink()
    passwd.symlink_to(outside)  # a link planted in the container must not lead the shim's write out of it
    code, _, err = await _run(backend, 300, "useradd", "-m", "intruder")
    assert code == 1 and "leaves the container" in err
    assert outside.read_text() == "host:x:0:0::/:/bin/sh\n"


async def test_the_shim_server_answers_only_with_its_token(backend: MemoryBackend) -> None:
    assert (await _run(backend, 300, "systemctl", "daemon-reload"))[0] == 0  # the server runs now
    server = await backend._shim_server()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"\0".join([b"not-the-token", b"300", b"/", b"useradd", b"1", b"mallory", b"0"]) + b"\0")
    await writer.drain()
    assert await reader.read() == b""  # closed without an answer
    writer.close()
    assert "mallory" not in (backend.root(300) / "etc/passwd").read_text()
    assert [c["cmd"] for c in backend.calls(300)] == ["systemctl"]


async def test_shims_keep_state_and_log_calls(backend: MemoryBackend) -> None:
    assert (await _run(backend, 300, "systemctl", "is-active", "nginx"))[:2] == (3, "inactive\n")
    code, _, err = await _run(backend, 300, "systemctl", "start", "myapp")
    assert code == 5 and "Unit myapp.service not found." in err
    unit = backend.root(300) / "etc/systemd/system/myapp.service"
    unit.parent.mkdir(parents=True)
    unit.write_text("[Service]\nExecStart=/bin/true\n")
    assert (await _run(backend, 300, "systemctl", "enable", "--now", "myapp.service"))[0] == 0
    assert (await _run(backend, 300, "systemctl", "is-active", "myapp"))[:2] == (0, "active\n")
    assert (await _run(backend, 300, "systemctl", "is-active", "--quiet", "myapp"))[:2] == (0, "")
    assert (await _run(backend, 300, "systemctl", "is-enabled", "-q", "myapp"))[:2] == (0, "")
    assert (await _run(backend, 300, "useradd", "-m", "-s", "/bin/bash", "app"))[0] == 0
    assert (await _run(backend, 300, "useradd", "app"))[0] == 9
    assert (await _run(backend, 300, "id", "-u", "app"))[1] == "1000\n"
    assert (await _run(backend, 300, "curl", "-fsSL", "https://example.org"))[0] == 6
    assert (await _run(backend, 300, "apt-get", "install", "-y", "redis-server"))[0] == 0
    _, listening, _ = await _run(backend, 300, "ss", "-ltn")
    assert ":6379" in listening
    await backend.stop(300)
    await backend.start(300)  # a reboot keeps enabled units active
    assert (await _run(backend, 300, "systemctl", "is-active", "redis-server"))[1] == "active\n"
    commands = [c["cmd"] for c in backend.calls(300)]
    assert commands[:3] == ["systemctl", "systemctl", "systemctl"] and "curl" in commands


async def test_exit_codes_and_missing_command(backend: MemoryBackend) -> None:
    assert (await _run(backend, 300, "sh", "-c", "exit 42"))[0] == 42
    assert (await _run(backend, 300, "definitely-not-a-command"))[0] == 127


async def test_snapshot_rollback_and_clone(backend: MemoryBackend) -> None:
    assert (await _run(backend, 300, "sh", "-c", "head -c 4 /dev/zero | wc -c"))[1].strip() == "4"
    (backend.root(300) / "etc/app.conf").write_text("v1")
    await backend.snapshot(300, "before")
    (backend.root(300) / "etc/app.conf").write_text("v2")
    await backend.rollback(300, "before")
    assert (backend.root(300) / "etc/app.conf").read_text() == "v1"
    await backend.clone(300, 301)
    assert (backend.root(301) / "etc/app.conf").read_text() == "v1"
    await backend.destroy(300)
    assert not backend.ct_dir(300).exists()


async def test_ip_and_curl_shims_answer_from_the_lease_and_services(backend: MemoryBackend) -> None:
    await backend.network_up(300, [{"name": "eth0", "inet": "10.0.3.17/24", "gateway": "10.0.3.1"}])
    assert (await _run(backend, 300, "ip", "route", "show", "default"))[1] == "default via 10.0.3.1 dev eth0\n"
    _, routes, _ = await _run(backend, 300, "ip", "route")
    assert "10.0.3.0/24 dev eth0 proto kernel scope link src 10.0.3.17" in routes
    _, addresses, _ = await _run(backend, 300, "ip", "-4", "-o", "addr", "show", "scope", "global")
    assert addresses.startswith("1: eth0    inet 10.0.3.17/24 brd 10.0.3.255 scope global eth0")
    assert (await _run(backend, 300, "curl", "-fsS", "http://10.0.3.17:6379/"))[0] == 7  # nothing listens yet
    assert (await _run(backend, 300, "apt-get", "install", "-y", "redis-server"))[0] == 0
    assert (await _run(backend, 300, "curl", "-fsS", "-o", "/dev/null", "http://10.0.3.17:6379/"))[0] == 0
    assert (await _run(backend, 300, "curl", "-fsS", "http://LOCALHOST:6379"))[0] == 0
    assert (await _run(backend, 300, "curl", "-fsS", "http://10.0.3.99:6379/"))[0] == 6  # not this CT
