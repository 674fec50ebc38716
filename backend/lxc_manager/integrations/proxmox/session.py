"""HTTP plumbing shared by every PVE call: auth header, encoding, error mapping, retries, concurrency limit.

Retry policy (reliability cases 3, 4 and 7):

* A request is re-sent only if its error is ``transient`` **and** either the method is ``GET`` (reads are
  idempotent) or the error proves the server did nothing (``not_executed``). Backoff is exponential with full
  jitter: ``sleep(uniform(0, min(backoff_max, backoff_base * 2**attempt)))``, ``retries`` extra attempts at most.
* ``not_executed`` holds for: connection establishment failures and pool timeouts (nothing was sent); PVE's
  ``can't lock file '...' - got timeout`` (the 10 s config flock failed before the handler did anything); and
  ``got no worker upid`` (the worker fork failed, no task exists). So a create that hits the config lock timeout three
  times and then succeeds is sent exactly four times.
* Never re-sent: a POST/PUT/DELETE that got a plain 500, a 502/503/504 (the gateway may have forwarded it), a read
  timeout or a connection reset after sending (a pooled keep-alive connection closed under us), a 400/401/403/501,
  595/596 (node offline: callers fail fast) and ``CT is locked (...)`` (callers poll ``lock`` instead).
* A task that failed is never re-dispatched by the client: ``wait_task`` raises :class:`ProxmoxTaskError`.

Keep-alive connections expire after 3 s, below pveproxy's 5 s idle timeout, so the pool rarely reuses a socket the
server is closing. The ``Authorization: PVEAPIToken=...`` header is added per request and is never logged, put
in a repr or in an exception message.
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, urlsplit

import httpx

from lxc_manager.core.logging import get_logger
from lxc_manager.integrations.proxmox.errors import (
    ProxmoxConnectionError,
    ProxmoxError,
    ProxmoxTimeout,
    ProxmoxTLSError,
    classify_api_error,
)
from lxc_manager.integrations.proxmox.tls import TLSConfig, build_transport, endpoint_of

__all__ = ["ProxmoxSession", "RetryPolicy", "encode_params", "path_of"]

log = get_logger(__name__)

KEEPALIVE_EXPIRY = 3.0  # pveproxy closes idle keep-alive connections after 5 s
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3
    backoff_base: float = 0.25
    backoff_max: float = 4.0

    def delay(self, attempt: int) -> float:
        """Full jitter (AWS architecture blog): uniform over [0, capped exponential]."""
        return random.uniform(0.0, min(self.backoff_max, self.backoff_base * (2**attempt)))  # noqa: S311


def encode_value(value: Any) -> str:
    """PVE accepts only 0/1 for top-level booleans; lists become comma-separated (``delete=a,b``)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Enum):
        return encode_value(value.value)
    if isinstance(value, (list, tuple)):
        return ",".join(encode_value(v) for v in value)
    return str(value)


def encode_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    """Drop ``None`` values, encode the rest as PVE expects them in query strings and form bodies."""
    return {k: encode_value(v) for k, v in (params or {}).items() if v is not None}


def path_of(*segments: str | int, tail: str | None = None) -> str:
    """Join path segments, percent-encoding each; ``tail`` keeps ``/`` (volume ids swallow the rest of the path)."""
    parts = [quote(str(s), safe=":@!=,") for s in segments]
    if tail is not None:
        parts.append(quote(tail, safe=":@!=,/"))
    return "/" + "/".join(parts)


def _api_root(base_url: str) -> str:
    """``pve1`` → ``https://pve1:8006/api2/json``; ``https://pve1:8006[/api2/json]`` → the same (see endpoint_of)."""
    scheme, host, port = endpoint_of(base_url)
    text = base_url.strip()
    path = urlsplit(text if "://" in text else f"https://{text}").path.rstrip("/")
    if not path.endswith("/api2/json"):
        path += "/api2/json"
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"{scheme}://{netloc}{path}"


def _reason_of(response: httpx.Response) -> str:
    raw = response.extensions.get("reason_phrase")
    if isinstance(raw, bytes) and raw:
        return raw.decode("utf-8", errors="replace")
    return response.reason_phrase


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _is_tls_failure(exc: BaseException) -> bool:
    """httpx wraps ssl errors in ConnectError; look down the cause chain (bounded), then at the message."""
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            break
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc) or "[SSL" in str(exc)


def _map_transport_error(exc: httpx.TransportError, method: str, path: str) -> ProxmoxError:
    where = f"{method} {path}"
    if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
        return ProxmoxTimeout(f"{where}: {type(exc).__name__}", not_executed=True)
    if isinstance(exc, httpx.TimeoutException):
        return ProxmoxTimeout(f"{where}: {type(exc).__name__} (the request may have been processed)")
    if isinstance(exc, httpx.ConnectError):
        if _is_tls_failure(exc):
            return ProxmoxTLSError(f"{where}: TLS verification failed: {exc}")
        return ProxmoxConnectionError(f"{where}: cannot connect: {exc}", not_executed=True)
    return ProxmoxConnectionError(f"{where}: {type(exc).__name__}: {exc} (the request may have been processed)")


class _NoCookies(httpx.Cookies):
    """A jar that stays empty: responses are not parsed for cookies."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _TokenAuthClient(httpx.AsyncClient):
    """API tokens need no cookies (PVE sets none on token calls), yet httpx runs every response through
    ``http.cookiejar`` — 5 % of a deployment's pipeline CPU. This client's jar stays empty and unread."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NoCookies()  # empty every time: nothing set on it is kept

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        raise TypeError("a PVE token session keeps no cookies")


class ProxmoxSession:
    """One PVE endpoint (a node's pveproxy on port 8006) with one API token."""

    def __init__(
        self,
        base_url: str,
        token_id: str,
        token_secret: str,
        *,
        tls: TLSConfig | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_concurrency: int = 4,
        retries: RetryPolicy | int = RetryPolicy(),
        keepalive_expiry: float = KEEPALIVE_EXPIRY,
    ) -> None:
        if "@" not in token_id or "!" not in token_id:
            raise ValueError("token_id must look like 'user@realm!tokenname'")
        if not token_secret:
            raise ValueError("token_secret is empty")
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        self.base_url = _api_root(base_url)
        self.token_id = token_id
        self.tls = tls or TLSConfig()
        self.retry_policy = retries if isinstance(retries, RetryPolicy) else RetryPolicy(retries=retries)
        self.max_concurrency = max_concurrency
        self.__authorization = f"PVEAPIToken={token_id}={token_secret}"
        limits = httpx.Limits(
            max_connections=max_concurrency,
            max_keepalive_connections=max_concurrency,
            keepalive_expiry=keepalive_expiry,
        )
        self._http = _TokenAuthClient(
            base_url=self.base_url,
            transport=transport if transport is not None else build_transport(self.tls, limits),
            timeout=timeout,
            headers={"Accept": "application/json"},
            follow_redirects=False,
            trust_env=False,
        )
        # Created lazily so the semaphore binds to the loop that uses the client.
        self._semaphore: asyncio.Semaphore | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, token_id={self.token_id!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def semaphore(self) -> asyncio.Semaphore:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.max_concurrency)
        return self._semaphore

    def should_retry(self, method: str, exc: ProxmoxError) -> bool:
        return exc.transient and (method == "GET" or exc.not_executed)

    async def request_envelope(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Send one API call (with retries per the module policy) and return the whole JSON envelope."""
        method = method.upper()
        encoded = encode_params(dict(params) if params is not None else None)
        policy = self.retry_policy
        attempt = 0
        while True:
            try:
                return await self._send_once(method, path, encoded, attempt)
            except ProxmoxError as exc:
                if attempt >= policy.retries or not self.should_retry(method, exc):
                    raise
                delay = policy.delay(attempt)
                log.warning(
                    "pve_retry", method=method, path=path, attempt=attempt + 1, delay_s=round(delay, 3), error=str(exc)
                )
                await asyncio.sleep(delay)
                attempt += 1

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
    ) -> Any:
        """Send one API call and return the envelope's ``data``."""
        return (await self.request_envelope(method, path, params)).get("data")

    async def _send_once(self, method: str, path: str, params: dict[str, str], attempt: int) -> dict[str, Any]:
        headers = {"Authorization": self.__authorization}
        if method in ("GET", "DELETE"):
            request = self._http.build_request(method, path, params=params, headers=headers)
        else:
            request = self._http.build_request(method, path, data=params, headers=headers)
        started = time.perf_counter()
        async with self.semaphore:
            try:
                response = await self._http.send(request)
                await response.aread()
            except httpx.TransportError as exc:
                error = _map_transport_error(exc, method, path)
                log.info("pve_request_failed", method=method, path=path, attempt=attempt, error=str(error))
                raise error from exc
        log.debug(
            "pve_request",
            method=method,
            path=path,
            status=response.status_code,
            attempt=attempt,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        body = _json_or_none(response)
        if response.is_success:
            if not isinstance(body, dict):
                raise ProxmoxConnectionError(f"{method} {path}: answer is not a JSON envelope")
            return body
        raise classify_api_error(response.status_code, _reason_of(response), body, method=method, path=path)
