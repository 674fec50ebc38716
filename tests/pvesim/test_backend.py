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


async def test_shims_start_from_bytecode_compiled_once(backend: MemoryBackend) -> None:
    """Every sandbox gets the simulator's hash-checked bytecode of the shim: no compile at a container's first call."""
    cached = list((backend.root(300) / ".pvesim/__pycache__").glob("shim.*.pyc"))
    assert len(cached) == 1
    before = cached[0].read_bytes()
    assert int.from_bytes(before[4:8], "little") == 0b11  # flags: hash-based, checked against the source
    assert (await _run(backend, 300, "systemctl", "daemon-reload"))[0] == 0
    assert cached[0].read_bytes() == before  # valid as it was: the interpreter neither recompiled nor rewrote it
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


@pytest.mark.parametrize("inet", ["10.0.0.5/24", "192.168.77.130/25", "172.16.4.1/16", "10.1.2.3/32", "10.1.2.3/0",
                                  "10.9.8.7", "fd00::5/64"])  # fmt: skip
def test_ip_shim_network_maths_matches_ipaddress(inet: str) -> None:
    import ipaddress

    from lxc_manager.pvesim.shim import ipv4_network

    iface = ipaddress.ip_interface(inet)
    assert ipv4_network(inet) == (str(iface.ip), str(iface.network), str(iface.network.broadcast_address))


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/", "https://LocalHost/path?q=1", "http://[::1]:3000/x", "http://user:pw@10.0.0.5:81",
     "https://example.org", "http://10.0.0.5#frag", "http://[fd00::1]/"],
)  # fmt: skip
def test_curl_shim_url_parsing_matches_urllib(url: str) -> None:
    import urllib.parse

    from lxc_manager.pvesim.shim import url_host_port

    parsed = urllib.parse.urlsplit(url)
    assert url_host_port(url) == (parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80))


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
