"""API shapes of deployments: the request (following the Proxmox create-CT wizard), the plan, the deployment."""

from __future__ import annotations

import base64
import binascii
import ipaddress
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator

from lxc_manager.models import OnFailure
from lxc_manager.templates.format import (
    BRIDGE_PATTERN,
    HOSTNAME_PATTERN,
    INPUT_NAME_PATTERN,
    SLUG_PATTERN,
    VOLID_PATTERN,
)

# A DNS label: what PVE accepts as a container hostname and what DHCP/DNS will carry.
HOSTNAME_LABEL_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
STORAGE_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9._-]{0,63}$"
# PVE's pve-tag: starts with a letter, digit, '_' or '+'; then letters, digits and _ - + .
PVE_TAG_PATTERN = r"^[a-z0-9_+][a-z0-9_+.-]{0,63}$"
ID_PATTERN = r"^[A-Za-z0-9-]{1,36}$"
SSH_KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)
MIN_ROOT_PASSWORD = 5  # PVE's own minimum for the create password
MAX_ROOT_PASSWORD = 128

InputValue = str | int | bool
Tag = Annotated[str, StringConstraints(pattern=PVE_TAG_PATTERN)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def check_ssh_public_key(line: str) -> str:
    """``type base64 [comment]`` with a known type whose blob decodes and names the same type."""
    parts = line.strip().split(None, 2)
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        raise ValueError("must be an OpenSSH public key line ('ssh-ed25519 AAAA… comment') of a known type")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the key data is not valid base64") from None
    if len(blob) < 4:
        raise ValueError("the key data is too short")
    length = int.from_bytes(blob[:4], "big")
    if blob[4 : 4 + length].decode("ascii", "replace") != parts[0]:
        raise ValueError("the key data does not match its type")
    if any(c in line for c in "\r\n\x00"):
        raise ValueError("one key per entry (no line breaks)")
    return " ".join(parts)


SSHPublicKey = Annotated[str, StringConstraints(max_length=16_384), AfterValidator(check_ssh_public_key)]


class FeaturesIn(Strict):
    nesting: bool | None = None
    keyctl: bool | None = None
    fuse: bool | None = None


class NetworkIn(Strict):
    """Overrides of the template's ``container.network`` (omitted fields keep the template's value)."""

    bridge: str | None = Field(default=None, pattern=BRIDGE_PATTERN)
    vlan: int | None = Field(default=None, ge=1, le=4094, description="VLAN tag")
    firewall: bool | None = None
    ip: str | None = Field(default=None, description="`dhcp` or a static IPv4 address in CIDR form")
    gateway: str | None = Field(default=None, description="IPv4 gateway (static ip only)")
    ip6: str | None = Field(default=None, description="`none`, `auto` (SLAAC), `dhcp` or a static IPv6 CIDR")
    gateway6: str | None = Field(default=None, description="IPv6 gateway (static ip6 only)")
    mtu: int | None = Field(default=None, ge=576, le=65520)

    @field_validator("ip")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        if value is None or value == "dhcp":
            return value
        try:
            iface = ipaddress.ip_interface(value)
        except ValueError:
            iface = None
        if iface is None or iface.version != 4 or "/" not in value:
            raise ValueError("must be 'dhcp' or an IPv4 address with prefix, e.g. 10.0.0.5/24")
        return value

    @field_validator("ip6")
    @classmethod
    def _ip6(cls, value: str | None) -> str | None:
        if value is None or value in ("none", "auto", "dhcp"):
            return value
        try:
            iface = ipaddress.ip_interface(value)
        except ValueError:
            iface = None
        if iface is None or iface.version != 6 or "/" not in value:
            raise ValueError("must be none, auto, dhcp or an IPv6 address with prefix")
        return value

    @field_validator("gateway")
    @classmethod
    def _gateway(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ipaddress.IPv4Address(value)
            except ValueError:
                raise ValueError("must be an IPv4 address") from None
        return value

    @field_validator("gateway6")
    @classmethod
    def _gateway6(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ipaddress.IPv6Address(value)
            except ValueError:
                raise ValueError("must be an IPv6 address") from None
        return value


class DNSIn(Strict):
    servers: list[str] | None = Field(default=None, max_length=3, description="Name servers; empty: the host's")
    search_domain: str | None = Field(default=None, pattern=HOSTNAME_PATTERN, max_length=253)

    @field_validator("servers")
    @classmethod
    def _servers(cls, value: list[str] | None) -> list[str] | None:
        for server in value or []:
            try:
                ipaddress.ip_address(server)
            except ValueError:
                raise ValueError(f"{server[:60]!r} is not an IP address") from None
        return value


class DeploymentRequest(Strict):
    """What to build: a template on a node, with the Proxmox wizard's options. Omitted options take the
    template's defaults; secrets (``root_password``, secret inputs) are stored encrypted and never returned."""

    template: str = Field(pattern=SLUG_PATTERN, description="Template name")
    template_revision: int | None = Field(default=None, ge=1, description="Revision; default: the current one")
    node_id: str = Field(pattern=ID_PATTERN)
    hostname: str | None = Field(
        default=None, pattern=HOSTNAME_LABEL_PATTERN, description="DNS label; default: the template name"
    )
    vmid: int | None = Field(default=None, ge=100, le=999_999_999, description="Default: the next free id")
    ostemplate: str | None = Field(
        default=None,
        pattern=VOLID_PATTERN,
        description="Exact OS template volume; default: the newest match",
    )
    unprivileged: bool | None = None
    features: FeaturesIn | None = None
    cores: int | None = Field(default=None, ge=1, le=512)
    memory: int | None = Field(default=None, ge=16, le=1_048_576, description="MiB")
    swap: int | None = Field(default=None, ge=0, le=1_048_576, description="MiB")
    rootfs_storage: str | None = Field(
        default=None, pattern=STORAGE_ID_PATTERN, description="Storage with 'rootdir' content; default: the roomiest"
    )
    rootfs_size: int | None = Field(default=None, ge=1, le=65_536, description="GiB")
    network: NetworkIn | None = None
    dns: DNSIn | None = None
    ssh_public_keys: list[SSHPublicKey] = Field(default_factory=list, max_length=32)
    root_password: SecretStr | None = Field(
        default=None, min_length=MIN_ROOT_PASSWORD, max_length=MAX_ROOT_PASSWORD, description="Never returned"
    )
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    start_on_boot: bool | None = None
    inputs: dict[Annotated[str, StringConstraints(pattern=INPUT_NAME_PATTERN)], InputValue] = Field(
        default_factory=dict, max_length=200, description="Template inputs by name (typed per the template)"
    )
    on_failure: OnFailure = Field(default=OnFailure.keep, description="keep the container for debugging, or destroy it")

    @field_validator("hostname")
    @classmethod
    def _hostname(cls, value: str | None) -> str | None:
        return value.lower() if value is not None else None

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("inputs")
    @classmethod
    def _inputs(cls, value: dict[str, InputValue]) -> dict[str, InputValue]:
        for name, item in value.items():
            if isinstance(item, str) and (len(item) > 10_000 or "\x00" in item):
                raise ValueError(f"{name}: at most 10000 characters, no NUL")
        return value


# ------------------------------------------------------------------------------------------------ plan


class PlanTemplate(BaseModel):
    name: str
    revision: int
    revision_id: str
    content_hash: str


class PlanNode(BaseModel):
    id: str
    name: str
    pve_node: str


class PlanFile(BaseModel):
    source: str
    destination: str
    owner: str
    mode: str
    sha256: str
    size: int


class PlanPackage(BaseModel):
    name: str
    spec: str
    sources: list[str] = Field(description="Buckets (in manifest order) and/or 'extra'")


class PlanScript(BaseModel):
    name: str
    path: str
    sha256: str


class PlanHook(BaseModel):
    event: str
    target: str = Field(description="'host' or 'container'")
    name: str
    path: str
    sha256: str


class PlanStep(BaseModel):
    phase: str
    kind: str = Field(description="hook | create | start | files | packages | script | verify | credentials")
    name: str
    target: str = Field(description="'host' or 'container'")


class DeploymentPlan(BaseModel):
    """The fully resolved deployment, exactly as the pipeline will run it (secrets masked)."""

    template: PlanTemplate
    node: PlanNode
    hostname: str
    vmid: int | None = Field(description="The requested id; None: the pipeline claims the next free one")
    suggested_vmid: int | None = Field(description="What PVE's nextid answered while planning (not reserved)")
    ostemplate: str
    rootfs_storage: str
    pve_params: dict[str, Any] = Field(description="POST /nodes/{node}/lxc parameters (password masked)")
    files: list[PlanFile]
    packages: list[PlanPackage]
    scripts: list[PlanScript]
    hooks: list[PlanHook]
    steps: list[PlanStep] = Field(description="Everything in execution order")
    inputs: dict[str, Any] = Field(description="Resolved inputs, secrets masked")
    secret_inputs: list[str] = Field(description="Names of inputs delivered as 0600 files")
    services: list[dict[str, Any]]
    credentials: list[str]
    on_failure: OnFailure
    warnings: list[str]


# ------------------------------------------------------------------------------------------------ deployment


class PhaseOut(BaseModel):
    name: str
    status: str
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    attempts: int = 0
    error: str | None = None


class LinkOut(BaseModel):
    name: str
    url: str


class DeploymentSummary(BaseModel):
    id: str
    status: str
    phase: str
    template_name: str
    template_revision: int
    node_id: str | None
    node_name: str
    hostname: str | None
    vmid: int | None
    ip_address: str | None
    cancel_requested: bool
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error_code: str | None
    error_message: str | None


class DeploymentDetail(DeploymentSummary):
    template_hash: str
    on_failure: str
    attempts: int
    phases: list[PhaseOut]
    request: dict[str, Any] = Field(description="The request as stored (no secrets)")
    inputs: dict[str, Any] = Field(description="Resolved inputs, secrets masked")
    plan: dict[str, Any]
    warnings: list[str]
    links: list[LinkOut] = Field(description="Web UIs of the container, once finalized")
    container_id: str | None = Field(
        default=None, description="The container record once finalized (its credentials: /containers/{id})"
    )
    last_event_seq: int


class DeploymentPage(BaseModel):
    items: list[DeploymentSummary]
    total: int
    limit: int
    offset: int
