"""A scripted PVE for client tests: an httpx.MockTransport handler app answering like pve-http-server."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx

from lxc_manager.integrations.proxmox import ProxmoxClient, RetryPolicy
from pve_conformance import RecordedRequest, RecordingTransport, record_of

TOKEN_ID = "lxcm@pve!manager"
TOKEN_SECRET = "5f0c3a1e-7d2b-4c9e-9a61-0b8f2d4e6c3a"
BASE_URL = "https://pve1.test:8006"
SHARED_PVE_API = Path(__file__).resolve().parents[3].parent / "shared" / "pve-api"
PVE_HEADERS = {"Server": "pve-api-daemon/3.0", "Content-Type": "application/json;charset=UTF-8"}

Handler = Callable[[httpx.Request], httpx.Response] | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def pve_ok(data: Any, **extra: Any) -> httpx.Response:
    return httpx.Response(200, content=json.dumps({"data": data, **extra}).encode(), headers=PVE_HEADERS)


def pve_error(
    status: int, message: str, errors: dict[str, str] | None = None, *, body_message: bool = True
) -> httpx.Response:
    """An error answer as pve-http-server sends it: reason phrase = first line, body ``message`` since 5.2."""
    body: dict[str, Any] = {"data": None}
    if body_message:
        body["message"] = message + "\n"
    if errors is not None:
        body["errors"] = errors
    content = b"" if status == 401 else json.dumps(body).encode()
    reason = message.splitlines()[0].encode()
    return httpx.Response(status, content=content, headers=PVE_HEADERS, extensions={"reason_phrase": reason})


class FakePVE:
    """Answers scripted replies per (method, path); the last reply of a route repeats. Records every request."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Reply]] = {}
        self.requests: list[RecordedRequest] = []

    def on(self, method: str, path: str, *replies: Reply) -> None:
        self.routes[(method, path)] = list(replies)

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.method == method and r.path == path)

    def handler(self, request: httpx.Request) -> httpx.Response:
        record = record_of(request)
        self.requests.append(record)
        queue = self.routes.get((record.method, record.path))
        if not queue:
            return pve_error(501, f"Method '{record.method} {record.path}' not implemented")
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(reply, Exception):
            raise reply
        if callable(reply) and not isinstance(reply, httpx.Response):
            return reply(request)
        return reply


class ClientFactory:
    def __init__(self) -> None:
        self.transports: list[RecordingTransport] = []
        self.clients: list[ProxmoxClient] = []

    def __call__(self, fake: FakePVE, handler: Handler | None = None, **kwargs: Any) -> ProxmoxClient:
        """A client over ``fake`` (or over ``handler``, an async handler that may call ``fake.handler``)."""
        transport = RecordingTransport(httpx.MockTransport(handler or fake.handler))
        self.transports.append(transport)
        kwargs.setdefault("retries", RetryPolicy(retries=3, backoff_base=0.0))
        client = ProxmoxClient(BASE_URL, TOKEN_ID, TOKEN_SECRET, transport=transport, **kwargs)
        self.clients.append(client)
        return client
