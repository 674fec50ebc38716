"""Retry policy: reads retry transient failures; writes are re-sent only when PVE provably did nothing."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pve_fake import ClientFactory, FakePVE, pve_error, pve_ok

from lxc_manager.integrations.proxmox import (
    ProxmoxAPIError,
    ProxmoxClient,
    ProxmoxConnectionError,
    ProxmoxLocked,
    ProxmoxNodeOffline,
    ProxmoxTaskError,
    ProxmoxTransientError,
    ProxmoxValidationError,
    RetryPolicy,
)
from lxc_manager.integrations.proxmox.session import KEEPALIVE_EXPIRY

CREATE = "/nodes/pve1/lxc"
UPID = "UPID:pve1:00109F67:023CA533:6A879515:vzcreate:201:lxcm@pve!manager:"
LOCK_TIMEOUT = "can't lock file '/run/lock/lxc/pve-config-201.lock' - got timeout"
CREATE_PARAMS = {"vmid": 201, "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"}


async def test_lock_file_timeout_three_times_then_ok_sends_exactly_four_posts(
    fake: FakePVE, client: ProxmoxClient
) -> None:
    fake.on("POST", CREATE, *([pve_error(500, LOCK_TIMEOUT)] * 3), pve_ok(UPID))
    assert await client.lxc_create("pve1", CREATE_PARAMS) == UPID
    assert fake.count("POST", CREATE) == 4


async def test_pre_execution_failure_then_ok_sends_two_posts(fake: FakePVE, client: ProxmoxClient) -> None:
    """bpg TestCreateContainerRetries: a 500 that PVE raised before doing anything is re-sent once."""
    fake.on("POST", CREATE, pve_error(500, "got no worker upid - start worker failed"), pve_ok(UPID))
    assert await client.lxc_create("pve1", CREATE_PARAMS) == UPID
    assert fake.count("POST", CREATE) == 2


async def test_opaque_500_on_create_is_not_resent(fake: FakePVE, client: ProxmoxClient) -> None:
    fake.on("POST", CREATE, pve_error(500, "unexpected failure in the middle"), pve_ok(UPID))
    with pytest.raises(ProxmoxAPIError):
        await client.lxc_create("pve1", CREATE_PARAMS)
    assert fake.count("POST", CREATE) == 1


async def test_400_on_create_is_sent_once(fake: FakePVE, client: ProxmoxClient) -> None:
    fake.on("POST", CREATE, pve_error(400, "Parameter verification failed.", {"memory": "invalid"}), pve_ok(UPID))
    with pytest.raises(ProxmoxValidationError):
        await client.lxc_create("pve1", CREATE_PARAMS)
    assert fake.count("POST", CREATE) == 1


async def test_gateway_error_on_a_write_is_not_resent_but_a_read_is(fake: FakePVE, client: ProxmoxClient) -> None:
    fake.on("POST", "/nodes/pve1/lxc/201/status/start", pve_error(503, "Service Unavailable"), pve_ok(UPID))
    with pytest.raises(ProxmoxTransientError):
        await client.lxc_start("pve1", 201)
    assert fake.count("POST", "/nodes/pve1/lxc/201/status/start") == 1
    fake.on("GET", "/nodes", pve_error(503, "Service Unavailable"), pve_error(502, "Bad Gateway"), pve_ok([]))
    assert await client.nodes() == []
    assert fake.count("GET", "/nodes") == 3


async def test_reads_give_up_after_the_configured_retries(fake: FakePVE, make_client: ClientFactory) -> None:
    client = make_client(fake, retries=RetryPolicy(retries=2, backoff_base=0.0))
    fake.on("GET", "/nodes", pve_error(504, "Gateway Timeout"))
    with pytest.raises(ProxmoxTransientError):
        await client.nodes()
    assert fake.count("GET", "/nodes") == 3


async def test_connection_reset_after_sending_never_replays_a_post(fake: FakePVE, client: ProxmoxClient) -> None:
    request = httpx.Request("POST", "https://pve1.test")
    reset = httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
    fake.on("POST", "/nodes/pve1/lxc/201/status/stop", reset, pve_ok(UPID))
    with pytest.raises(ProxmoxConnectionError):
        await client.lxc_stop("pve1", 201)
    assert fake.count("POST", "/nodes/pve1/lxc/201/status/stop") == 1
    fake.on("GET", "/nodes/pve1/lxc/201/status/current", reset, pve_ok({"vmid": 201, "status": "running"}))
    assert (await client.lxc_status("pve1", 201)).status == "running"


async def test_connect_failure_is_safe_to_resend_even_for_a_post(fake: FakePVE, client: ProxmoxClient) -> None:
    request = httpx.Request("POST", "https://pve1.test")
    refused = httpx.ConnectError("[Errno 111] Connection refused", request=request)
    fake.on("POST", "/nodes/pve1/lxc/201/status/start", refused, pve_ok(UPID))
    assert await client.lxc_start("pve1", 201) == UPID
    assert fake.count("POST", "/nodes/pve1/lxc/201/status/start") == 2


async def test_config_lock_and_offline_node_and_auth_are_not_retried(fake: FakePVE, client: ProxmoxClient) -> None:
    fake.on("PUT", "/nodes/pve1/lxc/201/config", pve_error(500, "CT is locked (backup)"), pve_ok(None))
    with pytest.raises(ProxmoxLocked):
        await client.lxc_update_config("pve1", 201, {"memory": 1024})
    assert fake.count("PUT", "/nodes/pve1/lxc/201/config") == 1
    fake.on("GET", "/nodes/pve2/status", pve_error(595, "Connection refused"), pve_ok({}))
    with pytest.raises(ProxmoxNodeOffline):
        await client.node_status("pve2")
    assert fake.count("GET", "/nodes/pve2/status") == 1
    fake.on("GET", "/version", pve_error(401, "No ticket"), pve_ok({"version": "9", "release": "9", "repoid": "ab"}))
    with pytest.raises(ProxmoxAPIError):
        await client.version()
    assert fake.count("GET", "/version") == 1


async def test_a_failed_task_is_never_redispatched(fake: FakePVE, client: ProxmoxClient) -> None:
    fake.on("POST", "/nodes/pve1/lxc/201/status/start", pve_ok(UPID))
    stopped = {
        "upid": UPID, "node": "pve1", "status": "stopped", "type": "vzcreate", "id": "201",
        "user": "lxcm@pve", "tokenid": "manager", "exitstatus": "CT is locked (backup)",
    }  # fmt: skip
    fake.on("GET", f"/nodes/pve1/tasks/{UPID}/status", pve_ok(stopped))
    fake.on(
        "GET", f"/nodes/pve1/tasks/{UPID}/log", pve_ok([{"n": 1, "t": "TASK ERROR: CT is locked (backup)"}], total=1)
    )
    upid = await client.lxc_start("pve1", 201)
    with pytest.raises(ProxmoxTaskError):
        await client.wait_task(upid, timeout=5, poll_interval=0)
    assert fake.count("POST", "/nodes/pve1/lxc/201/status/start") == 1


def test_backoff_is_full_jitter_below_the_cap() -> None:
    policy = RetryPolicy(retries=5, backoff_base=0.5, backoff_max=2.0)
    for attempt in range(8):
        samples = [policy.delay(attempt) for _ in range(200)]
        assert all(0.0 <= s <= min(2.0, 0.5 * 2**attempt) for s in samples)
    assert len({round(policy.delay(3), 6) for _ in range(50)}) > 1


def test_keepalive_is_below_pveproxys_idle_timeout() -> None:
    assert KEEPALIVE_EXPIRY < 5.0
    client = ProxmoxClient("https://pve1.test:8006", "a@pve!b", "secret-value")
    pool = client._http._transport._pool  # type: ignore[attr-defined]
    assert pool._keepalive_expiry == KEEPALIVE_EXPIRY
    assert pool._max_connections == client.max_concurrency


async def test_concurrency_is_limited_per_client(fake: FakePVE, make_client: ClientFactory) -> None:
    in_flight = 0
    peak = 0
    gate = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if peak >= 2:
            gate.set()
        await asyncio.wait_for(gate.wait(), 5)
        await asyncio.sleep(0)
        in_flight -= 1
        return pve_ok([])

    async def handler(request: httpx.Request) -> httpx.Response:
        fake.handler(request)
        return await slow(request)

    client = make_client(fake, handler, max_concurrency=2)
    fake.on("GET", "/nodes", pve_ok([]))
    await asyncio.gather(*(client.nodes() for _ in range(10)))
    assert peak == 2
    assert fake.count("GET", "/nodes") == 10


def test_parameter_encoding() -> None:
    import enum

    from lxc_manager.integrations.proxmox.session import encode_params

    class Timeframe(enum.Enum):
        HOUR = "hour"

    encoded = encode_params(
        {"a": True, "b": False, "c": 3, "d": 0.5, "e": ["net1", "mp0"], "f": None, "g": Timeframe.HOUR, "h": "x y"}
    )
    assert encoded == {"a": "1", "b": "0", "c": "3", "d": "0.5", "e": "net1,mp0", "g": "hour", "h": "x y"}
