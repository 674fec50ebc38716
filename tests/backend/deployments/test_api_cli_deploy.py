"""``lxc-manager deploy`` (a real subprocess) against a live server on 127.0.0.1 that runs the real pipeline
on the PVE simulator: progress from the SSE stream, exit codes by outcome, the token never in argv."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

import lxc_manager.deployments.tasks  # noqa: F401 - registers run_deployment for the in-process queue
from helpers import bearer, create_token, create_user
from live_server import serve_in_thread
from lxc_manager.core.config import Settings
from lxc_manager.core.db import create_engine, create_sessionmaker
from lxc_manager.main import create_app
from simnodes import register_nodes, running_simulator, sim_control

CLI = str(Path(sys.executable).with_name("lxc-manager"))


@pytest.fixture
def fast_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"TASK_POLL_S": "0.05", "IP_POLL_S": "0.05", "VERIFY_INTERVAL_S": "0.1",
                        "CANCEL_POLL_S": "0.1", "RETRY_BACKOFF_S": "0.1"}.items():  # fmt: skip
        monkeypatch.setenv(f"LXCM_DEPLOY_{name}", value)


@pytest.fixture
def live_url(settings: Settings, fast_pipeline: None) -> Iterator[str]:
    with serve_in_thread(create_app(settings)) as url:
        yield url


@dataclass
class Live:
    url: str
    sim: dict[str, Any]
    nodes: dict[str, str]
    admin: dict[str, str]
    token_file: Path


@pytest.fixture
async def live(live_url: str, settings: Settings, tmp_path: Path) -> AsyncIterator[Live]:
    engine = create_engine(settings.effective_database_url)  # this loop's own engine (the server has its own)
    handle: Any = SimpleNamespace(state=SimpleNamespace(lxcm=SimpleNamespace(sessionmaker=create_sessionmaker(engine))))
    admin_id = await create_user(handle, "root", role="admin")
    token = await create_token(handle, admin_id)
    await engine.dispose()
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    async with running_simulator(tmp_path / "sim") as sim, httpx.AsyncClient(base_url=live_url) as http:
        nodes = await register_nodes(http, sim, bearer(token))
        yield Live(live_url, sim, nodes, bearer(token), token_file)


async def deploy(live: Live, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        CLI, "deploy", *args, "--url", live.url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "LXCM_TOKEN": "", **(env or {})},
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=240)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_deploy_follows_to_success(live: Live) -> None:
    code, out, err = await deploy(live, "minimal", "--node", "sim-pve1", "--token-file", str(live.token_file),
                                  "--set", "greeting=hello from the cli", "--hostname", "cli-web")  # fmt: skip
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0].startswith("deployment ") and "minimal r1 on sim-pve1" in lines[0]
    for phase in ("create", "start", "provision", "verify", "finalize"):
        assert f"phase {phase}: running" in lines and f"phase {phase}: succeeded" in lines, out
    assert any(line.startswith("  provision | ") for line in lines)  # script output streamed (plain, not a TTY)
    assert "result: succeeded" in out
    assert any(line.endswith(": succeeded") and line.startswith("deployment ") for line in lines)
    assert "\x1b[" not in out  # no terminal control codes when not a TTY
    state = await sim_control(live.sim, "GET", "/state")
    assert [g["config"]["hostname"] for g in state["guests"].values()] == ["cli-web"]


async def test_deploy_exit_codes(live: Live) -> None:
    token = live.token_file.read_text().strip()
    code, _, err = await deploy(live, "minimal", "--node", "sim-pve1")
    assert code == 2 and "LXCM_TOKEN" in err  # no token anywhere
    code, _, err = await deploy(live, "minimal", "--node", "sim-pve1", "--set", "nope=1", env={"LXCM_TOKEN": token})
    assert code == 2 and "inputs.nope" in err and "not a declared input" in err
    code, _, err = await deploy(live, "minimal", "--node", "no-such-node", env={"LXCM_TOKEN": token})
    assert code == 2 and "no-such-node" in err
    code, _, err = await deploy(live, "minimal", "--node", "sim-pve1", "--token-file", "/nonexistent/token")
    assert code == 2 and "token file" in err

    await sim_control(live.sim, "POST", "/faults", json={"kind": "task_failure", "task_type": "vzcreate",
                                                          "message": "storage full", "count": 1})  # fmt: skip
    code, out, err = await deploy(live, "minimal", "--node", "sim-pve1", "--token-file", str(live.token_file))
    assert code == 1, out + err
    assert "phase create: failed" in out and "deployment " in out and ": failed" in out

    # Cancelled while it runs: exit 3.
    await sim_control(live.sim, "POST", "/faults", json={"kind": "latency", "seconds": 1.5,
                                                          "endpoint": "POST /nodes/{node}/lxc"})  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        CLI, "deploy", "minimal", "--node", "sim-pve1", "--url", live.url, "--token-file", str(live.token_file),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    first = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    deployment_id = first.split()[1].rstrip(":")
    async with httpx.AsyncClient(base_url=live.url, headers=live.admin) as http:
        cancelled = await http.post(f"/api/v1/deployments/{deployment_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
    rest, err_bytes = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 3, first + rest.decode() + err_bytes.decode()
    assert "cancelled" in rest.decode()
