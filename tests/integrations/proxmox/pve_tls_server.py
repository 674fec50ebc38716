"""A real HTTPS server on 127.0.0.1 (uvicorn) with a self-signed certificate made by ``cryptography``, recording
the headers of every HTTP request it receives, plus a raw TLS listener that records every application byte."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class SelfSigned:
    cert_path: Path
    key_path: Path
    pem: str
    der: bytes


def make_self_signed(folder: Path, name: str = "pve1") -> SelfSigned:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name}.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = folder / f"{name}.crt"
    key_path = folder / f"{name}.key"
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    cert_path.write_text(pem)
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return SelfSigned(cert_path, key_path, pem, cert.public_bytes(serialization.Encoding.DER))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class SeenRequests:
    headers: list[dict[str, str]] = field(default_factory=list)

    def authorization_headers(self) -> list[str]:
        return [h["authorization"] for h in self.headers if "authorization" in h]


def _pve_version_app(seen: SeenRequests) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        seen.headers.append({k.decode().lower(): v.decode() for k, v in scope["headers"]})
        body = json.dumps({"data": {"version": "9.1.9", "release": "9.1", "repoid": "b9984c6d"}}).encode()
        headers = [(b"content-type", b"application/json;charset=UTF-8"), (b"server", b"pve-api-daemon/3.0")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


@contextmanager
def serve_https(cert: SelfSigned, port: int | None = None) -> Iterator[tuple[str, SeenRequests]]:
    """uvicorn over TLS in a thread; yields (base URL, the requests it saw)."""
    seen = SeenRequests()
    port = port or free_port()
    config = uvicorn.Config(
        _pve_version_app(seen),
        host="127.0.0.1",
        port=port,
        ssl_certfile=str(cert.cert_path),
        ssl_keyfile=str(cert.key_path),
        log_config=None,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-tls-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn (TLS) did not start")
        time.sleep(0.02)
    try:
        yield f"https://127.0.0.1:{port}", seen
    finally:
        server.should_exit = True
        thread.join(15)


@asynccontextmanager
async def raw_tls_listener(cert: SelfSigned) -> AsyncIterator[tuple[str, list[bytes]]]:
    """Accepts TLS, records every decrypted byte a client sends, answers nothing useful."""
    received: list[bytes] = []
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert.cert_path, cert.key_path)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                received.append(chunk)
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}", received
    finally:
        server.close()
        await server.wait_closed()
