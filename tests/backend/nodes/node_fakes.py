"""Test doubles for the node registry: self-signed certificates and a fake PVE API served over real TLS."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import ipaddress
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TOKEN_ID = "lxcm@pve!dashboard"
CANARY_TOKEN_SECRET = "CANARY-5f1c0e9a-token-secret-7d2b"

# What a correctly configured token sees (PVE `GET /access/permissions`: path -> {privilege: propagate}).
FULL_PERMISSIONS: dict[str, dict[str, int]] = {
    "/vms": {
        p: 1
        for p in (
            "VM.Allocate",
            "VM.Audit",
            "VM.Config.Disk",
            "VM.Config.CPU",
            "VM.Config.Memory",
            "VM.Config.Network",
            "VM.Config.Options",
            "VM.PowerMgmt",
            "VM.Snapshot",
        )
    },
    "/storage": {"Datastore.AllocateSpace": 1, "Datastore.AllocateTemplate": 1, "Datastore.Audit": 1},
    "/sdn/zones/localnetwork/vmbr0": {"SDN.Use": 0},
    "/nodes": {"Sys.Audit": 1},
}


@dataclass
class Certificate:
    cert_pem: bytes
    key_pem: bytes
    fingerprint: str  # AA:BB:... of the DER


def make_certificate(common_name: str = "pve1.test") -> Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(common_name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return Certificate(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        fingerprint=":".join(digest[i : i + 2] for i in range(0, 64, 2)),
    )


@dataclass
class FakePVE:
    """A tiny PVE API: version, nodes and permissions, API-token auth; records every request's headers."""

    token_id: str = TOKEN_ID
    token_secret: str = CANARY_TOKEN_SECRET
    version: str = "9.1.2"
    node_names: tuple[str, ...] = ("pve1",)
    permissions: dict[str, dict[str, int]] = field(default_factory=lambda: dict(FULL_PERMISSIONS))
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    certificate: Certificate | None = None

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"PVEAPIToken={self.token_id}={self.token_secret}"

    async def _record(self, request: Request) -> JSONResponse | None:
        self.requests.append({"method": request.method, "path": request.url.path, "headers": dict(request.headers)})
        if not self._authorized(request):
            return JSONResponse({"data": None}, status_code=401)
        return None

    async def version_endpoint(self, request: Request) -> JSONResponse:
        denied = await self._record(request)
        if denied:
            return denied
        return JSONResponse({"data": {"version": self.version, "release": "9.1", "repoid": "0123abcd"}})

    async def nodes_endpoint(self, request: Request) -> JSONResponse:
        denied = await self._record(request)
        if denied:
            return denied
        return JSONResponse({"data": [{"node": n, "status": "online"} for n in self.node_names]})

    async def permissions_endpoint(self, request: Request) -> JSONResponse:
        denied = await self._record(request)
        if denied:
            return denied
        return JSONResponse({"data": self.permissions})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api2/json/version", self.version_endpoint),
                Route("/api2/json/nodes", self.nodes_endpoint),
                Route("/api2/json/access/permissions", self.permissions_endpoint),
            ]
        )


async def serve_tls(
    app: Any, certificate: Certificate, directory: Path
) -> tuple[str, uvicorn.Server, asyncio.Task[None]]:
    """Serve ``app`` over HTTPS on 127.0.0.1 (an ephemeral port) in this event loop."""
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.cert_pem)
    key_file.write_bytes(certificate.key_pem)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_config=None, lifespan="off", ssl_certfile=str(cert_file), ssl_keyfile=str(key_file)
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "the TLS test server did not start"
    return f"https://127.0.0.1:{port}", server, task


def node_payload(pve: FakePVE, **overrides: Any) -> dict[str, Any]:
    assert pve.certificate is not None
    body: dict[str, Any] = {
        "name": "pve1",
        "api_url": pve.url,
        "pve_node": "pve1",
        "token_id": pve.token_id,
        "token_secret": pve.token_secret,
        "tls_mode": "fingerprint",
        "tls_fingerprint": pve.certificate.fingerprint,
    }
    body.update(overrides)
    return body
