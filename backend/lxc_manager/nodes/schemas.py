"""API shapes of the node registry. Secrets are write-only: inputs take them, outputs only say whether they are set."""

from __future__ import annotations

import re
import ssl
from datetime import datetime
from typing import Annotated, Any

import asyncssh
from cryptography import x509
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator

from lxc_manager.integrations.proxmox.tls import normalize_fingerprint
from lxc_manager.models import TLSMode

MAX_PEM_CHARS = 64 * 1024
MAX_CA_CERTIFICATES = 50

NodeName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", max_length=64)]
# PVE node names: a DNS label (pve-cluster `pve-node` format).
PVENodeName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")]
# user@realm!tokenname, as PVE's `pve-tokenid` format.
TokenID = Annotated[
    str,
    StringConstraints(
        pattern=r"^[^\s:/@!\x00-\x1f\x7f]{1,64}@[A-Za-z][A-Za-z0-9.\-_]{1,31}![A-Za-z][A-Za-z0-9.\-_]{0,63}$",
        max_length=200,
    ),
]
# Printable ASCII without spaces: it travels in an HTTP header (no CR/LF injection).
TokenSecret = Annotated[SecretStr, Field(min_length=1, max_length=256)]
URLText = Annotated[str, StringConstraints(min_length=1, max_length=500)]
HostText = Annotated[str, StringConstraints(min_length=1, max_length=255)]
SSHUser = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_-]{0,31}$")]
Port = Annotated[int, Field(ge=1, le=65535)]
_TOKEN_SECRET_RE = re.compile(r"^[\x21-\x7e]+$")


def _check_token_secret(value: SecretStr | None) -> SecretStr | None:
    if value is not None and not _TOKEN_SECRET_RE.match(value.get_secret_value()):
        raise ValueError("the token secret must be printable ASCII without spaces")
    return value


def _check_fingerprint(value: str | None) -> str | None:
    return None if value is None else normalize_fingerprint(value)


def _check_ca_bundle(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > MAX_PEM_CHARS:
        raise ValueError("the CA bundle is too large")
    try:
        certificates = x509.load_pem_x509_certificates(value.encode())
    except Exception:  # any parser failure is bad input
        raise ValueError("the CA bundle must be one or more PEM certificates (-----BEGIN CERTIFICATE-----)") from None
    if len(certificates) > MAX_CA_CERTIFICATES:
        raise ValueError(f"the CA bundle may hold at most {MAX_CA_CERTIFICATES} certificates")
    from cryptography.hazmat.primitives.serialization import Encoding

    bundle = "".join(cert.public_bytes(Encoding.PEM).decode("ascii") for cert in certificates)
    try:
        ssl.create_default_context(cadata=bundle)  # what the Proxmox client will load
    except (ssl.SSLError, ValueError):
        raise ValueError("the CA bundle holds a certificate OpenSSL cannot use as a trust anchor") from None
    return bundle


def _check_private_key(value: SecretStr | None) -> SecretStr | None:
    if value is None:
        return None
    text = value.get_secret_value()
    if len(text) > MAX_PEM_CHARS:
        raise ValueError("the SSH private key is too large")
    try:
        asyncssh.import_private_key(text)
    except Exception:  # any parser failure is bad input; its message could quote the key, so say what we expect
        raise ValueError(
            "the SSH private key must be an unencrypted OpenSSH or PEM private key (no passphrase)"
        ) from None
    return SecretStr(text.strip() + "\n")


def _check_host_key(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > 16 * 1024:
        raise ValueError("the SSH host key is too large")
    try:
        key = asyncssh.import_public_key(value.strip())
    except Exception:  # any parser failure is bad input
        raise ValueError("the SSH host key must be an OpenSSH public key line, e.g. 'ssh-ed25519 AAAA…'") from None
    exported: bytes = key.export_public_key("openssh")
    return exported.decode().strip()


class _NodeInputChecks(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    _token_secret = field_validator("token_secret", check_fields=False)(_check_token_secret)
    _fingerprint = field_validator("tls_fingerprint", check_fields=False)(_check_fingerprint)
    _ca_bundle = field_validator("tls_ca_bundle", check_fields=False)(_check_ca_bundle)
    _private_key = field_validator("ssh_private_key", check_fields=False)(_check_private_key)
    _host_key = field_validator("ssh_host_key", check_fields=False)(_check_host_key)


class NodeCreate(_NodeInputChecks):
    name: NodeName
    api_url: URLText = Field(description="https://host[:port]; port 8006 when omitted", examples=["https://pve1:8006"])
    pve_node: PVENodeName | None = Field(default=None, description="The node's name inside PVE (default: name)")
    token_id: TokenID = Field(examples=["lxcm@pve!dashboard"])
    token_secret: TokenSecret = Field(description="Write-only")
    tls_mode: TLSMode = TLSMode.fingerprint
    tls_fingerprint: str | None = Field(
        default=None, max_length=200, description="SHA-256 of the leaf certificate (from probe-certificate)"
    )
    tls_ca_bundle: str | None = Field(default=None, max_length=MAX_PEM_CHARS, description="PEM CA certificates")
    ssh_host: HostText | None = None
    ssh_port: Port = 22
    ssh_user: SSHUser = "root"
    ssh_private_key: SecretStr | None = Field(default=None, description="Write-only; unencrypted OpenSSH/PEM")
    ssh_host_key: str | None = Field(default=None, description="Pinned SSH host public key (OpenSSH format)")


class NodeUpdate(_NodeInputChecks):
    """Omitted fields keep their value; omitted secrets keep the stored secret. ``null`` clears optional fields."""

    name: NodeName | None = None
    api_url: URLText | None = None
    pve_node: PVENodeName | None = None
    token_id: TokenID | None = None
    token_secret: TokenSecret | None = None
    tls_mode: TLSMode | None = None
    tls_fingerprint: str | None = Field(default=None, max_length=200)
    tls_ca_bundle: str | None = Field(default=None, max_length=MAX_PEM_CHARS)
    ssh_host: HostText | None = None
    ssh_port: Port | None = None
    ssh_user: SSHUser | None = None
    ssh_private_key: SecretStr | None = None
    ssh_host_key: str | None = None


class NodeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    api_url: str
    pve_node: str | None
    token_id: str
    has_token_secret: bool
    tls_mode: TLSMode
    tls_fingerprint: str | None
    tls_ca_bundle: str | None
    ssh_host: str | None
    ssh_port: int
    ssh_user: str
    has_ssh_private_key: bool
    ssh_host_key: str | None
    last_test_at: datetime | None
    last_test_ok: bool | None
    pve_version: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_node(cls, node: Any) -> NodeOut:
        return cls(
            id=node.id,
            name=node.name,
            api_url=node.api_url,
            pve_node=node.pve_node,
            token_id=node.token_id,
            has_token_secret=bool(node.token_secret_enc),
            tls_mode=TLSMode(node.tls_mode),
            tls_fingerprint=node.tls_fingerprint,
            tls_ca_bundle=node.tls_ca_bundle,
            ssh_host=node.ssh_host,
            ssh_port=node.ssh_port,
            ssh_user=node.ssh_user,
            has_ssh_private_key=bool(node.ssh_private_key_enc),
            ssh_host_key=node.ssh_host_key,
            last_test_at=node.last_test_at,
            last_test_ok=node.last_test_ok,
            pve_version=node.pve_version,
            created_at=node.created_at,
            updated_at=node.updated_at,
        )


class CertificateProbeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_url: URLText


class CertificateOut(BaseModel):
    api_url: str = Field(description="The normalised URL that was probed")
    fingerprint_sha256: str = Field(description="Send this back as tls_fingerprint to pin the certificate")
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    san: list[str]


class NodeCheck(BaseModel):
    name: str = Field(examples=["tls"])
    ok: bool
    message: str


class NodeTestResult(BaseModel):
    ok: bool
    checks: list[NodeCheck]
    version: str | None = Field(description="PVE version (pve-manager) when reachable")
    missing_privileges: list[str]


class NodeAccessOut(BaseModel):
    user_id: str
    username: str
    role: str
    granted_at: datetime


class NodeAccessSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_ids: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,36}$")]] = Field(max_length=1000)
