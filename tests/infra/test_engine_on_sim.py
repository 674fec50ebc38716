"""The bash engine deploys ``minimal`` end to end through the simulator's ``pct``/``pvesh``/``pveam`` (memory backend).

The simulator runs as a real process; the engine finds its host CLI shims first on PATH, so every call goes
``deploy.sh → pct shim → HTTPS API / SSH → simulator → memory sandbox``. A start failure injected through the
simulator's control API stops the first run; ``--resume`` continues with the same container.

Root only (the memory sandbox chroots template scripts into the container folder; without root they would run
against this machine's real /etc). Under CI=true (root) it must run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from simproc import DEPLOY, SCHEMA, RunningSim, events, phase_trail, running_simulator

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PHASES = ["create", "start", "provision", "verify", "finalize"]


def _unavailable(reason: str) -> None:
    if CI:
        pytest.fail(f"CI=true requires the engine-on-simulator lane: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSim]:
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("chroot") is None:
        _unavailable("engine on the memory simulator: needs root with unshare and chroot (sandboxed scripts)")
    if not SCHEMA.is_file():
        _unavailable(f"PVE API schema not found at {SCHEMA} (see ../shared/pve-api)")
    if shutil.which("bash") is None or not Path("/usr/bin/python3").exists():
        _unavailable("bash and /usr/bin/python3 (with PyYAML) are needed by the engine")
    with running_simulator(tmp_path_factory.mktemp("sim"), "memory", nodes=2) as running:
        yield running


def test_host_cli_speaks_pve(sim: RunningSim) -> None:
    nextid = sim.run("pvesh", "get", "/cluster/nextid", "--output-format", "json")
    assert (nextid.returncode, nextid.stdout) == (0, '"100"\n')
    options_first = sim.run("pvesh", "get", "--output-format", "json", "/cluster/nextid", "--vmid", "100")
    assert (options_first.returncode, options_first.stdout) == (0, '"100"\n')
    nodes = json.loads(sim.run("pvesh", "get", "/nodes", "--output-format=json").stdout)
    assert sorted(n["node"] for n in nodes) == ["pve1", "pve2"]
    unknown_path = sim.run("pvesh", "get", "/no/such/path")
    assert (unknown_path.returncode, unknown_path.stderr) == (255, "No 'get' handler defined for '/no/such/path'\n")
    listing = sim.run("pveam", "list", "local")
    assert listing.stdout.splitlines()[0].split() == ["NAME", "SIZE"]
    assert "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" in listing.stdout
    missing = sim.run("pct", "config", "4242")
    assert (missing.returncode, missing.stderr) == (2, "Configuration file 'nodes/pve1/lxc/4242.conf' does not exist\n")
    unknown = sim.run("pct", "create", "4243", "local:vztmpl/x.tar.zst", "--bogus", "1")
    assert unknown.returncode == 255
    assert unknown.stderr.startswith("Unknown option: bogus\n400 unable to parse option\n")
    storage = sim.run("pvesm", "status")
    assert storage.returncode == 0 and storage.stdout.split()[:7] == ["Name", "Type", "Status", "Total", "Used",
                                                                      "Available", "%"]  # fmt: skip


def test_minimal_deploys_through_the_simulator_and_resumes_after_failed_start(sim: RunningSim, tmp_path: Path) -> None:
    state = tmp_path / "deploys"
    # The first start task fails, as a real `pct start` can (e.g. a hook script error on the node).
    sim.control("POST", "/faults", {"kind": "task_failure", "task_type": "vzstart", "count": 1,
                                    "message": "startup for container failed (injected)"})  # fmt: skip
    first = sim.run(DEPLOY, "minimal", "--json", "--set", "greeting=Hello simulator", "--state-dir", state)
    assert first.returncode == 11, first.stderr
    assert phase_trail(first.stdout)[-1] == ("start", "failed")
    failed = events(first.stdout)[-1]
    assert (failed["type"], failed["status"], failed["exit_code"]) == ("result", "failed", 11)
    vmid = failed["vmid"]
    assert "startup for container failed (injected)" in first.stderr + first.stdout

    resumed = sim.run(DEPLOY, "minimal", "--json", "--resume", "--state-dir", state)
    assert resumed.returncode == 0, resumed.stderr
    trail = phase_trail(resumed.stdout)
    assert [p for p, s in trail if s == "succeeded"] == PHASES, trail
    result = events(resumed.stdout)[-1]
    assert (result["type"], result["status"], result["vmid"]) == ("result", "succeeded", vmid)
    assert result["ip"].startswith("10.10.0.") and result["web_ui"] == [f"http://{result['ip']}:8080/"]

    # Exactly one container, ours, running, tagged with the deploy id.
    listing = sim.run("pct", "list").stdout.splitlines()
    assert [line.split()[:3] for line in listing[1:]] == [[vmid, "running", "minimal"]]
    config = json.loads(sim.run("pvesh", "get", f"/nodes/pve1/lxc/{vmid}/config", "--output-format", "json").stdout)
    assert f"lxcm-{result['deploy_id']}" in config["tags"].split(";")
    assert config["unprivileged"] == 1 and "bridge=vmbr0" in config["net0"]

    # The memory sandbox recorded what the template ran.
    calls = [(c["cmd"], c["argv"]) for c in sim.control("GET", f"/containers/{vmid}/calls")]
    apt = [argv for cmd, argv in calls if cmd == "apt-get"]
    assert apt[0][-1] == "update" and apt[1][-5:] == ["ca-certificates", "curl", "iproute2", "procps", "python3"]
    systemctl = [argv for cmd, argv in calls if cmd == "systemctl"]
    assert ["enable", "minimal-web.service"] in systemctl and ["restart", "minimal-web.service"] in systemctl
    assert ["is-active", "--quiet", "minimal-web.service"] in systemctl
    root = sim.state_dir / "containers" / vmid / "root"
    assert "Hello simulator" in (root / "srv/www/index.html").read_text()
    credential = state / f"{result['deploy_id']}.d" / "credentials" / "admin_password"
    assert credential.read_text() == (root / "etc/minimal-web/admin_password").read_text()
    assert oct(credential.stat().st_mode & 0o777) == "0o600"
    assert not (root / "root/.lxc-deploy").exists()  # inputs removed from the container
    assert sim.run("pct", "exec", vmid, "--", "systemctl", "is-active", "minimal-web.service").stdout == "active\n"


@pytest.mark.parametrize("transport", ["openssh", "asyncssh"])
def test_pct_exec_push_pull_over_either_ssh_transport(sim: RunningSim, tmp_path: Path, transport: str) -> None:
    # Without ssh/sftp on PATH the host CLI falls back to asyncssh; both must behave the same.
    path = {"PATH": str(sim.bin_dir)} if transport == "asyncssh" else {}
    vmid = "4310" if transport == "openssh" else "4311"
    ostemplate = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
    created = sim.run("pct", "create", vmid, ostemplate, "--rootfs", "local-lvm:4", "--hostname", f"t{vmid}",
                      "--net0", "name=eth0,bridge=vmbr0,ip=dhcp", **path)  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "extracting archive" in created.stdout and "TASK OK" not in created.stdout
    assert sim.run("pct", "start", vmid, **path).returncode == 0
    assert sim.run("pct", "status", vmid, **path).stdout == "status: running\n"

    failing = sim.run("pct", "exec", vmid, "--", "sh", "-c", "echo out; echo err >&2; exit 3", **path)
    assert (failing.returncode, failing.stdout, failing.stderr) == (3, "out\n", "err\n")
    piped = subprocess.run([str(sim.bin_dir / "pct"), "exec", vmid, "--", "cat"], input="via stdin\n",
                           env=sim.env(**path), capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert (piped.returncode, piped.stdout) == (0, "via stdin\n")

    source = tmp_path / 'a "weird" name\\.txt'
    source.write_text("pushed\n")
    pushed = sim.run("pct", "push", vmid, source, "/root/pushed.txt", "--perms", "0640", **path)
    assert pushed.returncode == 0, pushed.stderr
    mode = sim.run("pct", "exec", vmid, "--", "stat", "-c", "%a", "/root/pushed.txt", **path)
    assert mode.stdout == "640\n"
    target = tmp_path / "pulled 'copy'"
    pulled = sim.run("pct", "pull", vmid, "/root/pushed.txt", target, "--perms", "0600", **path)
    assert pulled.returncode == 0, pulled.stderr
    assert target.read_text() == "pushed\n" and oct(target.stat().st_mode & 0o777) == "0o600"
    assert not list((sim.state_dir / "nodes" / "pve1" / "pct-cli").iterdir())  # staged copies removed

    missing = sim.run("pct", "push", vmid, tmp_path / "absent", "/root/x", **path)
    assert (missing.returncode, missing.stderr) == (255, f"failed to open {tmp_path / 'absent'} for reading\n")
    gone = sim.run("pct", "exec", "4399", "--", "true", **path)
    assert (gone.returncode, gone.stderr) == (2, "Configuration file 'nodes/pve1/lxc/4399.conf' does not exist\n")
    assert sim.run("pct", "stop", vmid, **path).returncode == 0
    assert sim.run("pct", "destroy", vmid, **path).returncode == 0
