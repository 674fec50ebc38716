"""The memory container backend: sandbox paths, shims with state, snapshots copying the sandbox."""

from __future__ import annotations

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


async def test_shims_keep_state_and_log_calls(backend: MemoryBackend) -> None:
    assert (await _run(backend, 300, "systemctl", "is-active", "nginx"))[:2] == (3, "inactive\n")
    code, _, err = await _run(backend, 300, "systemctl", "start", "myapp")
    assert code == 5 and "Unit myapp.service not found." in err
    unit = backend.root(300) / "etc/systemd/system/myapp.service"
    unit.parent.mkdir(parents=True)
    unit.write_text("[Service]\nExecStart=/bin/true\n")
    assert (await _run(backend, 300, "systemctl", "enable", "--now", "myapp.service"))[0] == 0
    assert (await _run(backend, 300, "systemctl", "is-active", "myapp"))[:2] == (0, "active\n")
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
