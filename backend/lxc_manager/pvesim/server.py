"""Run the simulator: TLS material, SSH keys, API tokens, ``connection.json``, uvicorn + the SSH listeners.

State dir layout: ``pve-root-ca.pem`` (CA), ``pve-ssl.pem``/``pve-ssl.key`` (server cert signed by it, like
``/etc/pve/nodes/<node>/pve-ssl.pem``), ``ssh_host_ed25519_key[.pub]``, ``id_ed25519[.pub]`` (the client key
the product uses), ``nodes/<node>/`` (SFTP scratch), ``containers/<vmid>/`` (memory backend) and
``connection.json`` (mode 0600: it holds the token secrets and the control token).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from lxc_manager.core.logging import get_logger
from lxc_manager.pvesim.acl import AclEntry, ApiToken, privileges_for
from lxc_manager.pvesim.app import create_app
from lxc_manager.pvesim.backend import ContainerBackend, MemoryBackend
from lxc_manager.pvesim.core import SimConfig, Simulator
from lxc_manager.pvesim.hostcli.shims import write_shims
from lxc_manager.pvesim.reason import install as install_reason_phrases
from lxc_manager.pvesim.schema import ApiSchema, resolve_schema_path
from lxc_manager.pvesim.ssh import start_ssh

log = get_logger(__name__)

ADMIN_TOKEN = ("root@pam", "lxcm")
RESTRICTED_TOKEN = ("lxcm-audit@pve", "readonly")


@dataclass
class TlsFiles:
    ca: Path
    cert: Path
    key: Path
    fingerprint: str


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def fingerprint_of(cert_pem: bytes) -> str:
    cert = x509.load_pem_x509_certificate(cert_pem)
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def ensure_tls(state_dir: Path, host: str) -> TlsFiles:
    """A CA and a server certificate for ``host`` (+ localhost/127.0.0.1), reused while the host still matches."""
    ca_path, cert_path, key_path = state_dir / "pve-root-ca.pem", state_dir / "pve-ssl.pem", state_dir / "pve-ssl.key"
    names = {host, "localhost", "127.0.0.1"}
    if ca_path.exists() and cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        present = {str(v) for v in san.get_values_for_type(x509.IPAddress)} | set(san.get_values_for_type(x509.DNSName))
        if names <= present:
            return TlsFiles(ca_path, cert_path, key_path, fingerprint_of(cert_path.read_bytes()))
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Proxmox Virtual Environment (simulated)"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PVE Cluster Manager CA")])  # fmt: skip
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for name in sorted(names):
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])).issuer_name(ca_name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=730))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_path.write_bytes(cert_pem)
    _write_private(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))  # fmt: skip
    return TlsFiles(ca_path, cert_path, key_path, fingerprint_of(cert_pem))


def ensure_ssh_keys(state_dir: Path) -> tuple[Path, Path, Path]:
    """(host private key, client private key, client public key); generated once and kept."""
    host_key, client_key = state_dir / "ssh_host_ed25519_key", state_dir / "id_ed25519"
    for path in (host_key, client_key):
        if not path.exists():
            key = asyncssh.generate_private_key("ssh-ed25519", comment=f"pvesim-{path.name}")
            _write_private(path, key.export_private_key())
            path.with_suffix(".pub").write_bytes(key.export_public_key())
    return host_key, client_key, client_key.with_suffix(".pub")


def build_simulator(config: SimConfig, schema_path: str | None, backend: str = "memory") -> Simulator:
    schema = ApiSchema.load(schema_path)
    container_backend: ContainerBackend
    if backend == "lxc":  # real LXC containers (root; see docs/simulator.md "Real LXC backend")
        from lxc_manager.pvesim.backends.lxc import LxcContainerBackend

        container_backend = LxcContainerBackend(config.state_dir)
    elif backend == "memory":
        container_backend = MemoryBackend(config.state_dir / "containers")
    else:
        raise NotImplementedError(f"backend '{backend}' is not implemented (use memory or lxc)")
    return Simulator(config, schema, container_backend)


def install_tokens(sim: Simulator) -> dict[str, dict[str, str]]:
    """The admin token (root@pam, no privilege separation) and a restricted read-only token (PVEAuditor on /)."""
    admin = ApiToken(*ADMIN_TOKEN, secrets.token_hex(16), privsep=False)
    audit_acl = [AclEntry("/", privileges_for(["PVEAuditor"]))]
    restricted = ApiToken(*RESTRICTED_TOKEN, secrets.token_hex(16), privsep=True, acl=audit_acl)
    sim.acl.add_token(admin)
    sim.acl.add_token(restricted)
    sim.acl.user_acl[RESTRICTED_TOKEN[0]] = [AclEntry("/", privileges_for(["PVEAuditor"]))]
    root_password = secrets.token_urlsafe(18)
    sim.acl.passwords["root@pam"] = root_password  # for ticket auth (POST /access/ticket)
    return {
        "admin": {"token_id": admin.full_id, "token_secret": admin.secret},
        "restricted": {"token_id": restricted.full_id, "token_secret": restricted.secret},
        "login": {"username": "root@pam", "password": root_password},
    }


async def serve(config: SimConfig, host: str, port: int, ssh_port: int, schema_path: str | None,
                backend: str = "memory", ready: asyncio.Event | None = None) -> None:  # fmt: skip
    """Run until SIGINT/SIGTERM (or cancellation). ``ssh_port`` 0 picks free ports; N>0 uses N, N+1, …"""
    state_dir = config.state_dir
    state_dir.mkdir(parents=True, exist_ok=True)
    sim = build_simulator(config, schema_path, backend)
    tls = ensure_tls(state_dir, host)
    host_key, client_key, client_pub = ensure_ssh_keys(state_dir)
    tokens = install_tokens(sim)
    control_token = secrets.token_urlsafe(24)
    app = create_app(sim, control_token, tls.fingerprint)
    reason_phrases = install_reason_phrases()  # PVE's message on the status line; needs the h11 protocol
    uv_config = uvicorn.Config(
        app, host=host, port=port, ssl_certfile=str(tls.cert), ssl_keyfile=str(tls.key), log_config=None,
        server_header=False, timeout_keep_alive=5, lifespan="off", access_log=False,
        http="h11" if reason_phrases else "auto",
    )  # fmt: skip
    server = uvicorn.Server(uv_config)
    ssh_ports = {name: (ssh_port + i if ssh_port else 0) for i, name in enumerate(sim.cluster.nodes)}
    ssh_servers = await start_ssh(sim, host, ssh_ports, host_key, client_pub)
    serve_task = asyncio.create_task(server.serve())
    while not server.started:
        if serve_task.done():
            await serve_task
            raise RuntimeError("the HTTPS server did not start")
        await asyncio.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]

    def node_ssh(name: str, port: int) -> dict[str, Any]:
        # scratch: the node's file system as its SSH side sees it (the SFTP root; /tmp of node shell commands)
        return {"host": host, "port": port, "scratch": str((state_dir / "nodes" / name).resolve())}

    connection = {
        "url": f"https://{host}:{bound}",
        "api_url": f"https://{host}:{bound}/api2/json",
        "token_id": tokens["admin"]["token_id"],
        "token_secret": tokens["admin"]["token_secret"],
        "restricted_token": tokens["restricted"],
        "login": tokens["login"],
        "fingerprint": tls.fingerprint,
        "ca_path": str(tls.ca.resolve()),
        "cert_path": str(tls.cert.resolve()),
        "control_url": f"https://{host}:{bound}/_sim",
        "control_token": control_token,
        "nodes": list(sim.cluster.nodes),
        "backend": backend,
        "ssh": {
            "host": host, "user": "root", "private_key_path": str(client_key.resolve()),
            "public_key": client_pub.read_text().strip(),
            "host_public_key": host_key.with_suffix(".pub").read_text().strip(),
            "port": ssh_servers[next(iter(ssh_servers))][1],
            "nodes": {name: node_ssh(name, p) for name, (_, p) in ssh_servers.items()},
        },
        "pid": os.getpid(),
        "schema_path": str(resolve_schema_path(schema_path).resolve()),
        "cli_dir": str(write_shims(state_dir).resolve()),  # pct/pvesh/pveam/pvesm for this machine's shell
    }  # fmt: skip
    target = state_dir / "connection.json"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(connection, indent=2))
    tmp.chmod(0o600)
    tmp.replace(target)
    log.info("pvesim ready", url=connection["url"], nodes=len(sim.cluster.nodes), connection=str(target))
    if ready is not None:
        ready.set()
    try:
        await serve_task  # uvicorn handles SIGINT/SIGTERM and returns
    finally:
        server.should_exit = True
        for acceptor, _ in ssh_servers.values():
            acceptor.close()
        await sim.tasks.shutdown()


def load_connection(state_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((state_dir / "connection.json").read_text())
    return data
