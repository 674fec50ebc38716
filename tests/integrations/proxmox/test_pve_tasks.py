"""Task waiting by UPID: OK, WARNINGS: n, errors with the log tail, first-poll 400, never-ending tasks."""

from __future__ import annotations

from typing import Any

import pytest
from pve_fake import FakePVE, pve_error, pve_ok

from lxc_manager.integrations.proxmox import ProxmoxClient, ProxmoxTaskError, ProxmoxTaskTimeout, ProxmoxValidationError

UPID = "UPID:pve1:0008380E:0131F1BF:6A84EA54:vzstart:101:lxcm@pve!manager:"
STATUS = f"/nodes/pve1/tasks/{UPID}/status"
LOG = f"/nodes/pve1/tasks/{UPID}/log"


def task(status: str, exitstatus: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "upid": UPID, "node": "pve1", "pid": 538638, "pstart": 20050367, "starttime": 1787095636,
        "type": "vzstart", "id": "101", "user": "lxcm@pve", "tokenid": "manager", "status": status,
    }  # fmt: skip
    if exitstatus is not None:
        data["exitstatus"] = exitstatus
    return data


def log_lines(count: int, last: str) -> list[dict[str, Any]]:
    return [{"n": i, "t": f"line {i}"} for i in range(1, count)] + [{"n": count, "t": last}]


async def test_ok_after_running(fake: FakePVE, client: ProxmoxClient) -> None:
    fake.on("GET", STATUS, pve_ok(task("running")), pve_ok(task("running")), pve_ok(task("stopped", "OK")))
    result = await client.wait_task(UPID, timeout=5, poll_interval=0)
    assert result.ok and result.warnings == 0 and result.exitstatus == "OK"
    assert fake.count("GET", STATUS) == 3
    assert fake.count("GET", LOG) == 0


async def test_warnings_count_as_success_with_their_number(fake: FakePVE, client: ProxmoxClient) -> None:
    fake.on("GET", STATUS, pve_ok(task("stopped", "WARNINGS: 2")))
    lines = [{"n": 1, "t": "WARN: a"}, {"n": 2, "t": "WARN: b"}, {"n": 3, "t": "TASK WARNINGS: 2"}]
    fake.on("GET", LOG, pve_ok(lines, total=3))
    result = await client.wait_task(UPID, timeout=5, poll_interval=0)
    assert result.ok and result.warnings == 2
    assert result.log_tail == ["WARN: a", "WARN: b", "TASK WARNINGS: 2"]


async def test_error_exit_status_raises_with_the_last_50_log_lines(fake: FakePVE, client: ProxmoxClient) -> None:
    message = "startup for container '101' failed"
    fake.on("GET", STATUS, pve_ok(task("running")), pve_ok(task("stopped", message)))
    lines = log_lines(120, f"TASK ERROR: {message}")

    def log_page(request: Any) -> Any:
        start = int(request.url.params.get("start", 0))
        limit = int(request.url.params.get("limit", 50))
        return pve_ok(lines[start : start + limit], total=len(lines))

    fake.on("GET", LOG, log_page)
    with pytest.raises(ProxmoxTaskError) as info:
        await client.wait_task(UPID, timeout=5, poll_interval=0)
    assert info.value.upid == UPID
    assert info.value.exitstatus == message
    assert len(info.value.log_tail) == 50
    assert info.value.log_tail[0] == "line 71"
    assert info.value.log_tail[-1] == f"TASK ERROR: {message}"
    assert message in str(info.value)


async def test_first_poll_400_is_eventual_consistency(fake: FakePVE, client: ProxmoxClient) -> None:
    no_such_task = pve_error(400, "Parameter verification failed.", {"upid": "no such task"})
    fake.on("GET", STATUS, no_such_task, no_such_task, pve_ok(task("running")), pve_ok(task("stopped", "OK")))
    result = await client.wait_task(UPID, timeout=5, poll_interval=0)
    assert result.ok
    assert fake.count("GET", STATUS) == 4


async def test_persistent_400_is_raised(fake: FakePVE, client: ProxmoxClient) -> None:
    fake.on("GET", STATUS, pve_error(400, "Parameter verification failed.", {"upid": "no such task"}))
    with pytest.raises(ProxmoxValidationError):
        await client.wait_task(UPID, timeout=5, poll_interval=0)
    assert fake.count("GET", STATUS) == 6


async def test_400_after_the_task_was_seen_is_not_swallowed(fake: FakePVE, client: ProxmoxClient) -> None:
    fake.on("GET", STATUS, pve_ok(task("running")), pve_error(400, "Parameter verification failed.", {"upid": "bad"}))
    with pytest.raises(ProxmoxValidationError):
        await client.wait_task(UPID, timeout=5, poll_interval=0)
    assert fake.count("GET", STATUS) == 2


async def test_never_ending_task_times_out(fake: FakePVE, client: ProxmoxClient) -> None:
    fake.on("GET", STATUS, pve_ok(task("running")))
    with pytest.raises(ProxmoxTaskTimeout) as info:
        await client.wait_task(UPID, timeout=0.2, poll_interval=0.01)
    assert UPID in str(info.value) and info.value.upid == UPID
    assert fake.count("GET", STATUS) >= 2


async def test_task_log_pages_and_total(fake: FakePVE, client: ProxmoxClient) -> None:
    fake.on(
        "GET", LOG, pve_ok([{"n": 1, "t": "client connection: 127.0.0.1:49608"}, {"n": 2, "t": "TASK OK"}], total=2)
    )
    page = await client.task_log(UPID, start=0, limit=50)
    assert page.total == 2
    assert [line.t for line in page.lines] == ["client connection: 127.0.0.1:49608", "TASK OK"]
    assert fake.requests[-1].params == {"start": "0", "limit": "50"}
