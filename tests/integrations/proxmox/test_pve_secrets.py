"""The API token secret never appears in exception messages, reprs, tracebacks or logs."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import httpx
import pytest
import structlog
from pve_fake import TOKEN_ID, TOKEN_SECRET, FakePVE, pve_error, pve_ok
from pve_tls_server import make_self_signed, serve_https

from lxc_manager.integrations.proxmox import ProxmoxClient, ProxmoxError, TLSConfig

UPID = "UPID:pve1:00083447:0131DE60:6A84EA23:vzstart:101:lxcm@pve!manager:"


def _assert_clean(text: str) -> None:
    assert TOKEN_SECRET not in text
    assert TOKEN_SECRET[:8] not in text


async def test_errors_reprs_and_logs_never_contain_the_secret(
    fake: FakePVE, client: ProxmoxClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    request = httpx.Request("GET", "https://pve1.test")
    answers: list[httpx.Response | Exception] = [
        pve_error(400, "Parameter verification failed.", {"vmid": "invalid"}),
        pve_error(401, "Authentication failed!"),
        pve_error(403, "Permission check failed (/vms/100, VM.Audit)"),
        pve_error(500, "CT is locked (backup)"),
        pve_error(595, "Connection refused"),
        httpx.ConnectError("Connection refused", request=request),
        httpx.ReadTimeout("timed out", request=request),
    ]
    caught: list[ProxmoxError] = []
    with structlog.testing.capture_logs() as events:
        for answer in answers:
            fake.on("GET", "/nodes/pve1/lxc/100/status/current", answer)
            with pytest.raises(ProxmoxError) as info:
                await client.lxc_status("pve1", 100)
            caught.append(info.value)
        status = f"/nodes/pve1/tasks/{UPID}/status"
        fake.on("GET", status, pve_ok({"upid": UPID, "node": "pve1", "status": "stopped", "type": "vzstart",
                                       "user": "lxcm@pve", "exitstatus": "command failed"}))  # fmt: skip
        fake.on("GET", f"/nodes/pve1/tasks/{UPID}/log", pve_ok([{"n": 1, "t": "TASK ERROR: failed"}], total=1))
        with pytest.raises(ProxmoxError) as task_info:
            await client.wait_task(UPID, timeout=1, poll_interval=0)
        caught.append(task_info.value)
    assert len(caught) == len(answers) + 1
    for error in caught:
        _assert_clean(str(error))
        _assert_clean(repr(error))
        _assert_clean(repr(error.args))
        _assert_clean("".join(traceback.format_exception(error)))
        _assert_clean(repr(vars(error)))
    assert events, "the client logs its retries and failures"
    _assert_clean(repr(events))
    _assert_clean(caplog.text)
    _assert_clean(repr(client))
    _assert_clean(str(client))
    assert TOKEN_ID in repr(client)


async def test_real_connection_logs_stay_clean(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """httpx/httpcore debug logging over a real TLS connection does not leak the header either."""
    caplog.set_level(logging.DEBUG)
    cert = make_self_signed(tmp_path)
    with serve_https(cert) as (url, seen), structlog.testing.capture_logs() as events:
        async with ProxmoxClient(url, TOKEN_ID, TOKEN_SECRET, tls=TLSConfig("ca_bundle", cert.pem)) as client:
            await client.version()
    assert seen.authorization_headers()  # the header did go over the wire...
    assert "httpcore" in caplog.text or "HTTP Request" in caplog.text  # ...and debug logging was on
    _assert_clean(caplog.text)
    _assert_clean(repr(events))


async def test_a_token_session_keeps_no_cookies() -> None:
    """Token auth needs no cookies: a Set-Cookie answer is neither parsed nor sent back, and none can be set."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        response = pve_ok({"version": "9.1.1", "release": "9.1", "repoid": "0123abcd"})
        response.headers["Set-Cookie"] = "PVEAuthCookie=PVE:root@pam:ticket; path=/; secure"
        return response

    async with ProxmoxClient("https://pve1.test:8006", TOKEN_ID, TOKEN_SECRET,
                             transport=httpx.MockTransport(handler)) as client:  # fmt: skip
        await client.version()
        await client.version()
        http = client._http
        assert len(http.cookies) == 0
        with pytest.raises(TypeError):
            http.cookies = {"PVEAuthCookie": "x"}
    assert [r.headers.get("cookie") for r in seen] == [None, None]
    assert all(r.headers["authorization"].startswith("PVEAPIToken=") for r in seen)
