"""Check requests sent to PVE against the official API schema (``../shared/pve-api/apidata.json``).

Wrap any transport given to ``ProxmoxClient`` in :class:`RecordingTransport`; afterwards
:func:`conformance_errors` lists every request whose path, method, parameter names, types, enums or required
parameters PVE would reject. Validation uses the simulator's faithful port of ``PVE::JSONSchema``
(``lxc_manager.pvesim.schema``). The schema is AGPL data and is never copied into the repo: when it is absent,
:func:`load_schema_or_skip` skips with a clear message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote

import httpx
import pytest

from lxc_manager.pvesim.schema import ApiSchema, MethodNotImplemented, SchemaUnavailable, resolve_schema_path

API_PREFIX = "/api2/json"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # relative to /api2/json, percent-decoded
    params: dict[str, str]
    headers: dict[str, str] = field(repr=False)


def record_of(request: httpx.Request) -> RecordedRequest:
    raw_path = unquote(request.url.path)
    path = raw_path[len(API_PREFIX) :] if raw_path.startswith(API_PREFIX) else raw_path
    params = dict(request.url.params)
    if request.method in ("POST", "PUT"):
        body = request.content.decode("utf-8")
        params.update(parse_qsl(body, keep_blank_values=True))
    return RecordedRequest(request.method, path or "/", params, dict(request.headers))


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests through to ``inner`` and keeps (method, path, params) of each."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.records: list[RecordedRequest] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.records.append(record_of(request))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def schema_or_none() -> ApiSchema | None:
    try:
        return ApiSchema.load(resolve_schema_path())
    except SchemaUnavailable:
        return None


def load_schema_or_skip() -> ApiSchema:
    path = resolve_schema_path()
    try:
        return ApiSchema.load(path)
    except SchemaUnavailable as exc:
        pytest.skip(f"PVE API schema not available at {path} (../shared/pve-api absent), conformance skipped: {exc}")


def conformance_errors(schema: ApiSchema, records: list[RecordedRequest]) -> list[str]:
    problems: list[str] = []
    for record in records:
        try:
            errors = schema.validate(record.method, record.path, dict(record.params))
        except MethodNotImplemented as exc:
            problems.append(f"{record.method} {record.path}: {exc.message}")
            continue
        if errors:
            detail = "; ".join(f"{k}: {v}" for k, v in sorted(errors.items()))
            problems.append(f"{record.method} {record.path} {record.params}: {detail}")
    return problems
