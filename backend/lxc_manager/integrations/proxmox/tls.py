"""TLS trust per PVE node: system CAs, a CA bundle, or a pinned SHA-256 leaf-certificate fingerprint.

Pinning is enforced inside the connection pool, not per request: the transport's network backend wraps every new
socket, and its ``start_tls`` compares the peer certificate's SHA-256 with the pin right after the handshake and
before httpcore writes a single HTTP byte. Every connection (first use, pooled reconnect after pveproxy's 5 s idle
close, parallel connections) goes through ``start_tls``, so the ``Authorization`` header can never leave on a
connection to an unpinned certificate. A mismatch raises :class:`ProxmoxTLSError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import ipaddress
import re
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpcore
import httpx
from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from lxc_manager.integrations.proxmox.errors import ProxmoxConnectionError, ProxmoxTimeout, ProxmoxTLSError

__all__ = [
    "CertificateInfo",
    "PinnedTransport",
    "TLSConfig",
    "build_transport",
    "certificate_fingerprint",
    "endpoint_of",
    "fetch_certificate",
    "normalize_fingerprint",
]

TLSMode = Literal["system", "ca_bundle", "fingerprint"]
_HEX_RE = re.compile(r"^[0-9A-F]{64}$")


def normalize_fingerprint(value: str) -> str:
    """``aa:bb...``/``AABB...``/``sha256 AA BB`` → ``AA:BB:...`` (32 bytes); ValueError otherwise."""
    text = value.strip().upper()
    if text.startswith("SHA256"):
        text = text[6:].lstrip(" =:")
    hex_only = re.sub(r"[\s:]", "", text)
    if not _HEX_RE.match(hex_only):
        raise ValueError("fingerprint must be a SHA-256 digest: 32 hex bytes, optionally colon-separated")
    return ":".join(hex_only[i : i + 2] for i in range(0, 64, 2))


def certificate_fingerprint(der: bytes) -> str:
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, 64, 2))


@dataclass(frozen=True)
class TLSConfig:
    """How to trust one node's HTTPS certificate. ``verify=False`` does not exist on purpose."""

    mode: TLSMode = "system"
    ca_bundle_pem: str | None = field(default=None, repr=False)
    fingerprint_sha256: str | None = None

    def __post_init__(self) -> None:
        if self.mode == "ca_bundle" and not self.ca_bundle_pem:
            raise ValueError("mode 'ca_bundle' needs ca_bundle_pem")
        if self.mode == "fingerprint":
            if not self.fingerprint_sha256:
                raise ValueError("mode 'fingerprint' needs fingerprint_sha256")
            object.__setattr__(self, "fingerprint_sha256", normalize_fingerprint(self.fingerprint_sha256))
        if self.mode not in ("system", "ca_bundle", "fingerprint"):
            raise ValueError(f"unknown TLS mode {self.mode!r}")

    def ssl_context(self) -> ssl.SSLContext:
        """The client context for this trust setting, shared by every client with the same setting in this process
        (building one loads the CA store: tens of ms of CPU). Rebuilt every ``SSL_CONTEXT_TTL_S`` so a changed
        system CA store is picked up by a long-running worker."""
        bucket = int(time.monotonic() // SSL_CONTEXT_TTL_S)
        return _ssl_context(self.mode, self.ca_bundle_pem if self.mode == "ca_bundle" else None, bucket)


SSL_CONTEXT_TTL_S = 600.0


@functools.lru_cache(maxsize=32)
def _ssl_context(mode: TLSMode, ca_bundle_pem: str | None, bucket: int) -> ssl.SSLContext:
    """Never mutated after creation except for ALPN, which every transport here sets to the same ``http/1.1``."""
    if mode == "system":
        return ssl.create_default_context()
    if mode == "ca_bundle":
        try:
            return ssl.create_default_context(cadata=ca_bundle_pem)
        except ssl.SSLError as exc:
            raise ValueError(f"invalid CA bundle: {exc}") from exc
    # Fingerprint mode: the CA chain is deliberately not checked; the pin in _PinningStream is the trust anchor, so
    # the CA store is not loaded either (PROTOCOL_TLS_CLIENT has create_default_context's protocol defaults).
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class _PinningStream(httpcore.AsyncNetworkStream):
    """Delegates to the real stream; checks the pin as soon as the TLS handshake completes."""

    def __init__(self, inner: httpcore.AsyncNetworkStream, pin: str) -> None:
        self._inner = inner
        self._pin = pin

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109 - httpcore/API signature
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109 - httpcore/API signature
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore/API signature
    ) -> httpcore.AsyncNetworkStream:
        tls_stream = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        ssl_object = tls_stream.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        actual = certificate_fingerprint(der) if der else None
        if actual != self._pin:
            await tls_stream.aclose()
            raise ProxmoxTLSError(
                f"certificate fingerprint mismatch for {server_hostname}: expected {self._pin}, got {actual}",
                expected=self._pin,
                actual=actual,
            )
        return tls_stream


class _PinningBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, pin: str) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._pin = pin

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore/API signature
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _PinningStream(stream, self._pin)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore API
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        raise ProxmoxTLSError("unix sockets are not supported with a pinned fingerprint")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with a connection pool whose every new TLS connection is checked against the pin."""

    def __init__(self, pin: str, ssl_context: ssl.SSLContext, limits: httpx.Limits) -> None:
        super().__init__(verify=ssl_context, limits=limits)
        # httpx builds its pool in __init__ without a hook for the network backend; swap in an identical pool
        # (same settings as httpx's) that uses the pinning backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=_PinningBackend(normalize_fingerprint(pin)),
        )


def build_transport(tls: TLSConfig, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    """The real network transport for one node, with that node's trust settings."""
    ctx = tls.ssl_context()
    if tls.mode == "fingerprint":
        assert tls.fingerprint_sha256 is not None
        return PinnedTransport(tls.fingerprint_sha256, ctx, limits)
    return httpx.AsyncHTTPTransport(verify=ctx, limits=limits)


@dataclass(frozen=True)
class CertificateInfo:
    fingerprint_sha256: str
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    san: list[str]
    pem: str = field(repr=False)


def _parse_certificate(der: bytes) -> CertificateInfo:
    from cryptography.hazmat.primitives.serialization import Encoding

    cert = x509.load_der_x509_certificate(der)
    san: list[str] = []
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
        assert isinstance(ext, x509.SubjectAlternativeName)
        san.extend(ext.get_values_for_type(x509.DNSName))
        san.extend(str(ip) for ip in ext.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        pass
    return CertificateInfo(
        fingerprint_sha256=certificate_fingerprint(der),
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        san=san,
        pem=cert.public_bytes(Encoding.PEM).decode("ascii"),
    )


PVE_PORT = 8006


def endpoint_of(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a node address. A bare ``host[:port]`` means PVE's ``https://host:8006``; a full URL
    keeps normal URL semantics (no port → 443), so a pveproxy behind a reverse proxy on 443 works too."""
    text = url.strip()
    bare = "://" not in text
    parts = urlsplit(f"https://{text}" if bare else text)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"invalid PVE address {url!r}")
    try:
        explicit = parts.port
    except ValueError as exc:
        raise ValueError(f"invalid port in {url!r}") from exc
    default = PVE_PORT if bare else (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname, explicit or default


def _server_hostname(host: str) -> str | None:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host
    return None


async def fetch_certificate(url: str, timeout: float = 5.0) -> CertificateInfo:  # noqa: ASYNC109 - httpcore/API signature
    """Handshake with ``url``'s host and return its leaf certificate. No HTTP request (so no credential) is sent."""
    _, host, port = endpoint_of(url)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port, ssl=ctx, server_hostname=_server_hostname(host))
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if not der:
            raise ProxmoxTLSError(f"{host}:{port} presented no certificate")
        return _parse_certificate(der)
    except TimeoutError as exc:
        raise ProxmoxTimeout(f"TLS handshake with {host}:{port} timed out", not_executed=True) from exc
    except ssl.SSLError as exc:
        raise ProxmoxTLSError(f"TLS handshake with {host}:{port} failed: {exc}") from exc
    except OSError as exc:
        raise ProxmoxConnectionError(f"cannot connect to {host}:{port}: {exc}", not_executed=True) from exc
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()
