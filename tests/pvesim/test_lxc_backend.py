"""The real ``lxc`` backend: real system containers booted from the cached Debian 12 rootfs.

Needs root, LXC and the configured Debian mirror (the rootfs is built on first use, ~1 minute, then cached).
Outside CI the module skips with the reason; under CI=true a missing prerequisite fails. One privileged CT is
shared by the tests (module-scoped) to keep the lane short; the last test tears it down and checks for leftovers.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from lxc_support import prepare_lxc_host, searchable_state_dir

from lxc_manager.integrations.ssh.commands import tethered
from lxc_manager.pvesim.backends.lxc import ContainerNotRunningError, LxcContainerBackend
from lxc_manager.pvesim.backends.lxc_process import run_command
from processes import sleeping, unique_seconds

pytestmark = [pytest.mark.lxc, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

VMID = 910
UNPRIV_VMID = 911
CLONE_VMID = 912
MAC = "BC:24:11:AA:09:10"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def backend() -> AsyncIterator[LxcContainerBackend]:
    tarball = prepare_lxc_host()
    state_dir = searchable_state_dir("lxcm-lxc-test-")
    lxc = LxcContainerBackend(state_dir, rootfs_tarball=tarball)
    await lxc.prepare()
    try:
        yield lxc
    finally:
        await lxc.close()
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def container(backend: LxcContainerBackend) -> AsyncIterator[str]:
    """One privileged CT created from PVE-style parameters, started, with its DHCP address."""
    params = {"memory": "768", "swap": "256", "cores": "1", "net0": f"name=eth0,bridge=vmbr0,ip=dhcp,hwaddr={MAC}"}
    await backend.create(VMID, "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", "sim-ct910", None, params)
    await backend.start(VMID)
    yield await backend.wait_for_ipv4(VMID, within=60)
    if backend.exists(VMID):
        await backend.destroy(VMID)


async def sh(backend: LxcContainerBackend, script: str, vmid: int = VMID) -> str:
    result = await backend.run(vmid, ["/bin/bash", "-c", script], time_limit=300)
    assert result.exit_code == 0, (script, result.stdout.decode(), result.stderr.decode())
    return result.stdout.decode()


async def test_boots_debian_12_with_dhcp_address_and_systemd(backend: LxcContainerBackend, container: str) -> None:
    assert container.startswith("10.0.3.")
    assert 'VERSION_ID="12"' in await sh(backend, "cat /etc/os-release")
    assert (await sh(backend, "hostname")).strip() == "sim-ct910"
    state = await backend.run(VMID, ["systemctl", "is-system-running", "--wait"], time_limit=60)
    assert state.stdout.decode().strip() == "running", await sh(backend, "systemctl --failed --no-legend || true")
    eth0 = next(nic for nic in await backend.interfaces(VMID) if nic["name"] == "eth0")
    assert eth0["inet"].split("/")[0] == container
    assert eth0["hwaddr"].lower() == MAC.lower()
    limit = await sh(
        backend, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"
    )
    assert int(limit) == 768 * 1024 * 1024
    assert await backend.status(VMID) == "running"


async def test_apt_really_installs_through_the_mirror(backend: LxcContainerBackend, container: str) -> None:
    before = await backend.run(VMID, ["sh", "-c", "command -v tree"])
    assert before.exit_code != 0, "tree must not be in the base image, or this test proves nothing"
    await sh(
        backend,
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tree",
    )
    assert "install ok installed" in await sh(backend, "dpkg-query -W -f='${Status}' tree")
    assert "tree v" in await sh(backend, "tree --version")


async def test_pushed_systemd_unit_really_runs_and_listens(
    backend: LxcContainerBackend, container: str, tmp_path: Path
) -> None:
    unit = tmp_path / "sim-http.service"
    unit.write_text(
        "[Unit]\nDescription=tiny web server\n\n[Service]\n"
        "ExecStart=/usr/bin/python3 -m http.server 8088 --bind 0.0.0.0 --directory /srv\n\n"
        "[Install]\nWantedBy=multi-user.target\n"
    )
    await backend.push(VMID, unit, "/etc/systemd/system/sim-http.service", 0o644, "root", "root")
    await sh(
        backend, "echo hello-from-ct > /srv/index.txt && systemctl daemon-reload && systemctl enable --now sim-http"
    )
    # Bounded wait: the unit is started asynchronously by systemd.
    await sh(backend, "for i in $(seq 50); do ss -ltnH | grep -q ':8088 ' && exit 0; sleep 0.2; done; exit 1")
    assert (await sh(backend, "systemctl is-active sim-http")).strip() == "active"
    assert ":8088" in await sh(backend, "ss -ltn")
    fetch = "import urllib.request as u; print(u.urlopen('http://127.0.0.1:8088/index.txt').read().decode())"
    assert "hello-from-ct" in await sh(backend, f'python3 -c "{fetch}"')


async def test_push_pull_round_trip_keeps_content_mode_and_owner(
    backend: LxcContainerBackend, container: str, tmp_path: Path
) -> None:
    payload = bytes(range(256)) * 64  # binary-safe, 16 KiB
    source = tmp_path / "blob.bin"
    source.write_bytes(payload)
    await backend.push(VMID, source, "/opt/blob.bin", 0o640, "nobody", "nogroup")
    assert (await sh(backend, "stat -c '%a %U %G %s' /opt/blob.bin")).split() == ["640", "nobody", "nogroup", "16384"]
    pulled = tmp_path / "back.bin"
    await backend.pull(VMID, "/opt/blob.bin", pulled)
    assert pulled.read_bytes() == payload
    assert pulled.stat().st_mode & 0o777 == 0o640
    with pytest.raises(Exception, match="failed to open /nonexistent"):
        await backend.pull(VMID, "/nonexistent", tmp_path / "nothing")


async def test_exec_streams_exit_code_and_passes_env_outside_argv(backend: LxcContainerBackend, container: str) -> None:
    chunks: list[bytes] = []
    errors: list[bytes] = []

    async def out(chunk: bytes) -> None:
        chunks.append(chunk)

    async def err(chunk: bytes) -> None:
        errors.append(chunk)

    secret = "s3cr3t-value-42"
    argv = ["sh", "-c", 'echo "token=$API_TOKEN"; cat; echo oops >&2; exit 7']

    async def stdin() -> AsyncIterator[bytes]:
        yield b"from-stdin\n"

    code = await backend.exec(VMID, argv, stdin(), out, err, env={"API_TOKEN": secret})
    assert code == 7
    assert b"".join(chunks) == f"token={secret}\nfrom-stdin\n".encode()
    assert b"".join(errors) == b"oops\n"
    command, _ = await backend._attach(VMID, argv, {"API_TOKEN": secret})
    assert secret not in " ".join(command)
    assert await backend.exec(VMID, ["no-such-binary"], None, out, err) == 127


async def test_snapshot_and_rollback_restore_the_filesystem(backend: LxcContainerBackend, container: str) -> None:
    await sh(backend, "echo before > /root/marker")
    await backend.snapshot(VMID, "base")
    await sh(backend, "echo after > /root/marker && touch /root/created-later && rm /etc/motd")
    await backend.rollback(VMID, "base")
    assert await backend.status(VMID) == "stopped"
    await backend.start(VMID)
    await backend.wait_for_ipv4(VMID, within=60)
    assert (await sh(backend, "cat /root/marker")).strip() == "before"
    assert (await sh(backend, "test -e /root/created-later && echo yes || echo no")).strip() == "no"
    assert (await sh(backend, "test -e /etc/motd && echo yes || echo no")).strip() == "yes"
    await backend.delete_snapshot(VMID, "base")


async def test_clone_then_clean_shutdown_and_reboot(backend: LxcContainerBackend, container: str) -> None:
    await sh(backend, "echo cloned-content > /root/origin")
    await backend.clone(VMID, CLONE_VMID)
    try:
        await backend.start(CLONE_VMID)
        await backend.wait_for_ipv4(CLONE_VMID, within=60)
        assert (await sh(backend, "cat /root/origin", CLONE_VMID)).strip() == "cloned-content"
        clone_mac = next(n["hwaddr"] for n in await backend.interfaces(CLONE_VMID) if n["name"] == "eth0")
        assert clone_mac.lower() != MAC.lower()
        await backend.shutdown(CLONE_VMID, grace=30)  # systemd powers off on SIGRTMIN+3
        assert await backend.status(CLONE_VMID) == "stopped"
        await backend.start(CLONE_VMID)
        before = (await backend.stats(CLONE_VMID))["pid"]
        await backend.reboot(CLONE_VMID)
        after = await backend.stats(CLONE_VMID)
        assert after["status"] == "running" and after["pid"] != before
    finally:
        await backend.destroy(CLONE_VMID)


async def test_unprivileged_container_runs_as_mapped_root(backend: LxcContainerBackend) -> None:
    params = {
        "unprivileged": "1",
        "features": "nesting=1",
        "net0": "name=eth0,bridge=vmbr0,ip=10.0.3.211/24,gw=10.0.3.1",
    }
    await backend.create(
        UNPRIV_VMID, "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", "unpriv", "ssh-ed25519 AAAA k", params
    )
    try:
        await backend.start(UNPRIV_VMID)
        assert await backend.wait_for_ipv4(UNPRIV_VMID, within=60) == "10.0.3.211"
        pid = (await backend.stats(UNPRIV_VMID))["pid"]
        status = await asyncio.to_thread(Path(f"/proc/{pid}/status").read_text)
        host_uid = status.split("Uid:")[1].split()[0]
        assert host_uid == "100000"  # container root is host uid 100000, as on PVE
        assert (await sh(backend, "id -u", UNPRIV_VMID)).strip() == "0"
        assert (await sh(backend, "stat -c '%a %U' /root/.ssh/authorized_keys", UNPRIV_VMID)).split() == ["600", "root"]
        # On disk the CT's files carry shifted owners, as on PVE: container uid 1000 is host uid 101000.
        await sh(backend, "echo x > /root/owned && chown 1000:1000 /root/owned", UNPRIV_VMID)
        on_disk = await asyncio.to_thread((backend.writable_dir(UNPRIV_VMID) / "root/owned").stat)
        assert (on_disk.st_uid, on_disk.st_gid) == (101000, 101000)
    finally:
        await backend.destroy(UNPRIV_VMID)


async def test_a_tethered_command_ends_when_its_stdin_closes_in_a_real_container(
    backend: LxcContainerBackend, container: str
) -> None:
    """The premise of the SSH tether on a PVE node: stdin reaches the command through lxc-attach, and the tether
    (setsid, kill of the process group) works inside a real Debian CT."""
    seconds = unique_seconds()
    channel_closed = asyncio.Event()
    output: list[bytes] = []

    async def stdin(closed: asyncio.Event = channel_closed) -> AsyncIterator[bytes]:
        await closed.wait()  # held open and never written to, as the SSH client does; then end of file
        return
        yield b""  # pragma: no cover (makes this an async generator)

    async def sink(chunk: bytes) -> None:
        output.append(chunk)

    argv = tethered(["sh", "-c", f"sleep {seconds} & sleep {seconds + 1}; echo late"])
    command = asyncio.create_task(backend.exec(VMID, argv, stdin(), sink, sink))
    for _ in range(500):
        if sleeping(seconds) and sleeping(seconds + 1):
            break
        await asyncio.sleep(0.02)
    assert sleeping(seconds) == 1 and sleeping(seconds + 1) == 1
    channel_closed.set()
    assert await asyncio.wait_for(command, 30) == 143  # the tether's TERM
    assert b"late" not in b"".join(output)
    for _ in range(250):
        if not sleeping(seconds) and not sleeping(seconds + 1):
            break
        await asyncio.sleep(0.02)
    assert sleeping(seconds) == 0 and sleeping(seconds + 1) == 0  # the background child as well
    held_open = asyncio.Event()  # never set: the command ends by itself (it reads /dev/null, not our stdin)
    done = await backend.exec(VMID, tethered(["sh", "-c", "cat; echo ok; exit 5"]), stdin(held_open), sink, sink)
    assert done == 5 and output[-1].endswith(b"ok\n")


async def test_stop_and_destroy_leave_nothing_behind(backend: LxcContainerBackend, container: str) -> None:
    info = await run_command(["lxc-info", "-P", str(backend.lxcpath), "-n", str(VMID), "-H"], time_limit=30)
    host_veth = next(line.split()[1] for line in info.stdout.decode().splitlines() if line.startswith("Link:"))
    assert (await run_command(["ip", "link", "show", host_veth], time_limit=10)).exit_code == 0
    await backend.stop(VMID)
    assert await backend.status(VMID) == "stopped"
    with pytest.raises(ContainerNotRunningError):
        await backend.run(VMID, ["true"])
    await backend.destroy(VMID)
    assert not await asyncio.to_thread(backend.ct_dir(VMID).exists)
    assert await backend.list_vmids() == []
    listed = await run_command(["lxc-ls", "-P", str(backend.lxcpath), "-1"], time_limit=30)
    assert listed.exit_code == 0 and listed.stdout.strip() == b""
    gone = await run_command(["lxc-info", "-P", str(backend.lxcpath), "-n", str(VMID)], time_limit=30)
    assert gone.exit_code != 0
    assert (await run_command(["ip", "link", "show", host_veth], time_limit=10)).exit_code != 0
    cgroups = await asyncio.to_thread(lambda: list(Path("/sys/fs/cgroup/memory").glob(f"lxc.payload.{VMID}")))
    assert cgroups == []
    # The shared base stays cached for the next CT.
    assert await asyncio.to_thread(lambda: any(backend.host.base_root.iterdir()))
