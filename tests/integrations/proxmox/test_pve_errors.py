"""PVE's error answers (status + reason phrase + body) map to the right exception class."""

from __future__ import annotations

import httpx
import pytest
from pve_fake import FakePVE, pve_error

from lxc_manager.integrations.proxmox import (
    ProxmoxAlreadyExists,
    ProxmoxAPIError,
    ProxmoxAuthError,
    ProxmoxClient,
    ProxmoxConflict,
    ProxmoxConnectionError,
    ProxmoxLocked,
    ProxmoxLockTimeout,
    ProxmoxNodeOffline,
    ProxmoxNotFound,
    ProxmoxNotImplemented,
    ProxmoxPermissionError,
    ProxmoxTimeout,
    ProxmoxTransientError,
    ProxmoxValidationError,
)
from lxc_manager.integrations.proxmox.errors import classify_api_error

CASES: list[tuple[int, str, dict[str, str] | None, type[ProxmoxAPIError]]] = [
    (400, "Parameter verification failed.", {"memory": "type check ('integer') failed - got 'lots'"},
     ProxmoxValidationError),
    (401, "No ticket", None, ProxmoxAuthError),
    (401, "Authentication failed!", None, ProxmoxAuthError),
    (403, "Permission check failed (/vms/100, VM.Audit)", None, ProxmoxPermissionError),
    (403, "Permission check failed (URI '/access/users' not available with API token, need proper ticket.)", None,
     ProxmoxPermissionError),
    (404, "Not Found", None, ProxmoxNotFound),
    (500, "Configuration file 'nodes/pve/lxc/999.conf' does not exist", None, ProxmoxNotFound),
    (500, "CT is locked (backup)", None, ProxmoxLocked),
    (500, "can't lock file '/run/lock/lxc/pve-config-100.lock' - got timeout", None, ProxmoxLockTimeout),
    (500, "CT 100 already exists on node 'pve'", None, ProxmoxAlreadyExists),
    (500, "CT 100 already running", None, ProxmoxConflict),
    (500, "detected modified configuration - file changed by other user? Try again.", None, ProxmoxConflict),
    (500, "got no worker upid - start worker failed", None, ProxmoxTransientError),
    (500, "unable to get any free VMID in range [100, 1000000)", None, ProxmoxAPIError),
    (501, "Method 'GET /nodes/pve1/bogus' not implemented", None, ProxmoxNotImplemented),
    (502, "Bad Gateway", None, ProxmoxTransientError),
    (503, "Service Unavailable", None, ProxmoxTransientError),
    (504, "Gateway Timeout", None, ProxmoxTransientError),
    (595, "Connection refused", None, ProxmoxNodeOffline),
    (596, "Connection timed out", None, ProxmoxNodeOffline),
]  # fmt: skip


@pytest.mark.parametrize(("status", "message", "errors", "expected"), CASES)
async def test_error_answers_map_to_classes(
    fake: FakePVE,
    client: ProxmoxClient,
    status: int,
    message: str,
    errors: dict[str, str] | None,
    expected: type[ProxmoxAPIError],
) -> None:
    fake.on("GET", "/nodes/pve1/lxc/100/status/current", pve_error(status, message, errors))
    with pytest.raises(ProxmoxAPIError) as info:
        await client.lxc_status("pve1", 100)
    assert type(info.value) is expected
    assert info.value.status == status
    assert info.value.reason == message
    assert info.value.errors == (errors or {})
    assert info.value.method == "GET"
    assert message in str(info.value)


def test_reason_phrase_is_used_when_the_body_has_no_message() -> None:
    """Before libpve-http-server 5.2 only the status line carried the message."""
    error = classify_api_error(500, "CT is locked (snapshot)", {"data": None})
    assert isinstance(error, ProxmoxLocked)
    assert error.lock == "snapshot"


def test_body_message_wins_over_the_truncated_reason_phrase() -> None:
    body = {"data": None, "message": "CT 100 already exists on node 'pve2'\n"}
    error = classify_api_error(500, "Internal Server Error", body)
    assert isinstance(error, ProxmoxAlreadyExists)
    assert error.reason == "CT 100 already exists on node 'pve2'"


def test_validation_errors_are_listed_in_the_message() -> None:
    body = {"data": None, "errors": {"onboot": "type check ('boolean') failed - got 'True'"}}
    error = classify_api_error(400, "Parameter verification failed.", body, method="POST", path="/nodes/a/lxc")
    assert isinstance(error, ProxmoxValidationError)
    assert str(error) == (
        "POST /nodes/a/lxc: 400 Parameter verification failed. (onboot: type check ('boolean') failed - got 'True')"
    )


def test_retry_relevant_flags() -> None:
    assert classify_api_error(500, "can't lock file '/run/lock/lxc/pve-config-1.lock' - got timeout", None).transient
    assert not classify_api_error(500, "CT is locked (backup)", None).transient
    assert classify_api_error(595, "Connection refused", None).not_executed
    assert not classify_api_error(596, "Connection timed out", None).not_executed
    assert not classify_api_error(500, "something odd happened", None).not_executed
    assert not classify_api_error(503, "Service Unavailable", None).not_executed


async def test_transport_failures_map_to_connection_errors(fake: FakePVE, client: ProxmoxClient) -> None:
    request = httpx.Request("GET", "https://pve1.test")
    fake.on("GET", "/version", httpx.ConnectError("[Errno 111] Connection refused", request=request))
    with pytest.raises(ProxmoxConnectionError) as refused:
        await client.version()
    assert refused.value.not_executed
    fake.on("GET", "/version", httpx.ReadTimeout("timed out", request=request))
    with pytest.raises(ProxmoxTimeout) as timed_out:
        await client.version()
    assert not timed_out.value.not_executed
    fake.on("GET", "/version", httpx.RemoteProtocolError("Server disconnected", request=request))
    with pytest.raises(ProxmoxConnectionError) as reset:
        await client.version()
    assert not reset.value.not_executed


async def test_non_envelope_success_is_an_error(fake: FakePVE, client: ProxmoxClient) -> None:
    fake.on("GET", "/version", httpx.Response(200, content=b"<html>proxy</html>"))
    with pytest.raises(ProxmoxConnectionError):
        await client.version()
