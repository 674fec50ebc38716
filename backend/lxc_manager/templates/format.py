"""The template format (``format: 1``): the single source of ``infra/lxc/schema/*.schema.json``.

A template is a folder ``<name>/`` holding ``template.yaml`` (this manifest), ``scripts/``, ``files/`` and
``hooks/``. A bucket is ``buckets/<name>.yaml``. The bash engine validates against the JSON Schema exported
from these models (``make template-schema``), so every rule that matters for deployment lives here.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator, model_validator

FORMAT_VERSION = 1

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
TAG_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,39}$"
# Debian package name, optionally pinned: ``name=1.2.3-1``, or a prefix pin ``name=1.2*``.
PACKAGE_PATTERN = r"^[a-z0-9][a-z0-9+.-]+(=[0-9][A-Za-z0-9.+~:-]*\*?)?$"
# A file name inside scripts/ or hooks/ (no sub-folders: order is the manifest list or the file name).
SCRIPT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
INPUT_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
OUTPUT_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
OWNER_PATTERN = r"^[a-z_][a-z0-9_-]{0,31}(:[a-z_][a-z0-9_-]{0,31})?$"
MODE_PATTERN = r"^0?[0-7]{3}$"
OS_TEMPLATE_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,99}$"
VOLID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*:vztmpl/[A-Za-z0-9][A-Za-z0-9._+-]*$"
UNIT_PATTERN = r"^[A-Za-z0-9@._:-]+\.(service|socket|timer|target)$"
HOSTNAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
BRIDGE_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,15}$"

Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
Tag = Annotated[str, StringConstraints(pattern=TAG_PATTERN)]
PackageSpec = Annotated[str, StringConstraints(pattern=PACKAGE_PATTERN, max_length=200)]
ScriptName = Annotated[str, StringConstraints(pattern=SCRIPT_NAME_PATTERN)]
ShortText = Annotated[str, StringConstraints(max_length=2000)]


class Strict(BaseModel):
    """Validates exactly what the JSON Schema says, so the dashboard and the engine agree on every file.

    Unknown keys are errors (a typo is never silently ignored), no type coercion (``cores: "2"`` is refused
    as the schema refuses it), and keys only by their YAML spelling (``post-start``, not ``post_start``).
    """

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False)


def _not_bool(value: object) -> object:
    # Literal[1] would accept True (True == 1); the schema's integer const does not.
    if isinstance(value, bool):
        raise ValueError("must be the integer 1")
    return value


FormatVersion = Annotated[Literal[1], BeforeValidator(_not_bool)]


def package_name(spec: str) -> str:
    """``nginx=1.22*`` → ``nginx``."""
    return spec.split("=", 1)[0]


def _relative_path(value: str) -> str:
    """A POSIX path relative to its folder that cannot leave it."""
    if not value or "\\" in value or "\x00" in value:
        raise ValueError("must be a non-empty POSIX path")
    if value.startswith("/"):
        raise ValueError("must be relative (no leading '/')")
    parts = value.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError("must not contain '.', '..' or empty segments")
    return value


def _absolute_path(value: str) -> str:
    if not value.startswith("/") or "\x00" in value or "\\" in value:
        raise ValueError("must be an absolute POSIX path inside the container")
    if any(part in (".", "..") for part in value.split("/")) or posixpath.normpath(value) != value:
        raise ValueError("must be normalised (no '.', '..', '//' or trailing '/')")
    return value


# ---------------------------------------------------------------- OS and container defaults


class OSSpec(Strict):
    template: str = Field(
        pattern=OS_TEMPLATE_PATTERN,
        description="OS template name as listed by `pveam available`, without version, e.g. `debian-12-standard`",
        examples=["debian-12-standard"],
    )
    volid: str | None = Field(
        default=None,
        pattern=VOLID_PATTERN,
        description="Exact volume id to use instead of the newest match, e.g. "
        "`local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst`",
    )
    ostype: Literal["debian", "ubuntu", "alpine", "archlinux", "centos", "fedora", "opensuse", "unmanaged"] | None = (
        Field(default=None, description="PVE `ostype`; PVE guesses it from the template when omitted")
    )


class Features(Strict):
    nesting: bool = Field(default=False, description="Allow nested containers / systemd sandboxing")
    keyctl: bool = Field(default=False, description="Allow keyctl() (Docker in unprivileged containers)")
    fuse: bool = Field(default=False, description="Allow FUSE mounts")


class Network(Strict):
    bridge: str = Field(default="vmbr0", pattern=BRIDGE_PATTERN)
    ip: str = Field(default="dhcp", description="`dhcp` or a static IPv4 address in CIDR form (`10.0.0.5/24`)")
    gateway: str | None = Field(default=None, description="IPv4 gateway; only with a static `ip`")
    ip6: str = Field(default="none", description="`none`, `auto` (SLAAC), `dhcp` or a static IPv6 CIDR")
    gateway6: str | None = Field(default=None, description="IPv6 gateway; only with a static `ip6`")
    vlan: int | None = Field(default=None, ge=1, le=4094, description="VLAN tag")
    firewall: bool = Field(default=False, description="Enable the PVE firewall on the interface")
    mtu: int | None = Field(default=None, ge=576, le=65520)

    @field_validator("ip")
    @classmethod
    def _ip(cls, value: str) -> str:
        if value == "dhcp":
            return value
        try:
            iface = ipaddress.ip_interface(value)
        except ValueError:
            raise ValueError("must be 'dhcp' or an IPv4 address with prefix, e.g. 10.0.0.5/24") from None
        if iface.version != 4 or "/" not in value:
            raise ValueError("must be 'dhcp' or an IPv4 address with prefix, e.g. 10.0.0.5/24")
        return value

    @field_validator("ip6")
    @classmethod
    def _ip6(cls, value: str) -> str:
        if value in ("none", "auto", "dhcp"):
            return value
        try:
            iface = ipaddress.ip_interface(value)
        except ValueError:
            raise ValueError("must be none, auto, dhcp or an IPv6 address with prefix") from None
        if iface.version != 6 or "/" not in value:
            raise ValueError("must be none, auto, dhcp or an IPv6 address with prefix")
        return value

    @field_validator("gateway")
    @classmethod
    def _gw(cls, value: str | None) -> str | None:
        if value is not None and not isinstance(ipaddress.ip_address(value), ipaddress.IPv4Address):
            raise ValueError("must be an IPv4 address")
        return value

    @field_validator("gateway6")
    @classmethod
    def _gw6(cls, value: str | None) -> str | None:
        if value is not None and not isinstance(ipaddress.ip_address(value), ipaddress.IPv6Address):
            raise ValueError("must be an IPv6 address")
        return value

    @model_validator(mode="after")
    def _gateways_need_static(self) -> Network:
        if self.gateway and self.ip == "dhcp":
            raise ValueError("gateway is only valid with a static ip")
        if self.gateway6 and self.ip6 in ("none", "auto", "dhcp"):
            raise ValueError("gateway6 is only valid with a static ip6")
        return self


class DNS(Strict):
    servers: list[str] = Field(default_factory=list, max_length=3, description="Name servers; empty: the host's")
    search_domain: str | None = Field(default=None, pattern=HOSTNAME_PATTERN, max_length=253)

    @field_validator("servers")
    @classmethod
    def _servers(cls, value: list[str]) -> list[str]:
        for server in value:
            ipaddress.ip_address(server)
        return value


class Container(Strict):
    """Defaults for the PVE create call; the deployment wizard may override each of them."""

    cores: int = Field(default=1, ge=1, le=512)
    memory: int = Field(default=512, ge=16, le=1_048_576, description="MiB")
    swap: int = Field(default=512, ge=0, le=1_048_576, description="MiB")
    disk: int = Field(default=4, ge=1, le=65_536, description="Root disk size in GiB")
    unprivileged: bool = True
    onboot: bool = Field(default=False, description="Start the container when the node boots")
    features: Features = Field(default_factory=Features)
    network: Network = Field(default_factory=Network)
    dns: DNS = Field(default_factory=DNS)


# ---------------------------------------------------------------- packages, scripts, files, hooks


class Packages(Strict):
    buckets: list[Slug] = Field(default_factory=list, max_length=50, description="Bucket names (buckets/<name>.yaml)")
    extra: list[PackageSpec] = Field(default_factory=list, max_length=500, description="Further Debian packages")

    @field_validator("buckets", "extra")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("must not contain duplicates")
        return value


class FileSpec(Strict):
    source: str = Field(description="Path relative to the template's `files/` folder", max_length=500)
    destination: str = Field(description="Absolute path inside the container", max_length=1000)
    owner: str = Field(default="root:root", pattern=OWNER_PATTERN, description="`user` or `user:group`")
    mode: str = Field(default="0644", pattern=MODE_PATTERN, description="Octal permission bits as a string")

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        return _relative_path(value)

    @field_validator("destination")
    @classmethod
    def _destination(cls, value: str) -> str:
        return _absolute_path(value)


class HookEvent(StrEnum):
    """When a hook runs. ``pre-create`` and ``post-create`` run on the PVE host; the others in the container."""

    pre_create = "pre-create"
    post_create = "post-create"
    post_start = "post-start"
    pre_provision = "pre-provision"
    post_provision = "post-provision"
    post_verify = "post-verify"


HOST_HOOK_EVENTS = frozenset({HookEvent.pre_create, HookEvent.post_create})


class Hooks(Strict):
    pre_create: list[ScriptName] = Field(default_factory=list, alias="pre-create", description="On the host")
    post_create: list[ScriptName] = Field(default_factory=list, alias="post-create", description="On the host")
    post_start: list[ScriptName] = Field(default_factory=list, alias="post-start")
    pre_provision: list[ScriptName] = Field(default_factory=list, alias="pre-provision")
    post_provision: list[ScriptName] = Field(default_factory=list, alias="post-provision")
    post_verify: list[ScriptName] = Field(default_factory=list, alias="post-verify")

    def by_event(self) -> dict[HookEvent, list[str]]:
        return {event: list(getattr(self, event.value.replace("-", "_"))) for event in HookEvent}


class Service(Strict):
    name: Slug
    unit: str | None = Field(default=None, pattern=UNIT_PATTERN, description="systemd unit that must be active")
    port: int | None = Field(default=None, ge=1, le=65535, description="Port that must be listening")
    protocol: Literal["tcp", "udp", "http", "https"] = "tcp"
    web_ui: str | None = Field(default=None, description="Path of a web UI (http/https only), e.g. `/`")
    description: ShortText | None = None

    @model_validator(mode="after")
    def _web_ui(self) -> Service:
        if self.web_ui is not None:
            if self.protocol not in ("http", "https") or self.port is None:
                raise ValueError("web_ui needs protocol http or https and a port")
            if not self.web_ui.startswith("/") or any(c in self.web_ui for c in " \t\r\n"):
                raise ValueError("web_ui must be a URL path starting with '/'")
        if self.unit is None and self.port is None:
            raise ValueError("a service declares a unit, a port, or both")
        return self


class CredentialCapture(Strict):
    file: str | None = Field(default=None, description="Read the value from this file in the container")
    output: str | None = Field(
        default=None,
        pattern=OUTPUT_KEY_PATTERN,
        description="Read `KEY=value` written by a script to the file named by `$LXCM_OUTPUT_FILE`",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> CredentialCapture:
        if (self.file is None) == (self.output is None):
            raise ValueError("set exactly one of file or output")
        if self.file is not None:
            _absolute_path(self.file)
        return self


class Credential(Strict):
    name: Annotated[str, StringConstraints(pattern=INPUT_NAME_PATTERN)]
    description: ShortText | None = None
    capture: CredentialCapture
    secret: bool = True
    service: Slug | None = Field(default=None, description="The declared service this credential belongs to")


class InputType(StrEnum):
    string = "string"
    int = "int"
    bool = "bool"
    enum = "enum"
    password = "password"  # noqa: S105 - an input type, not a secret


class Input(Strict):
    """A typed variable the user fills in at deployment time (see docs/templates.md for how scripts see it)."""

    name: Annotated[str, StringConstraints(pattern=INPUT_NAME_PATTERN)]
    # A Literal, not the enum: strict validation of plain YAML/JSON strings (the values are InputType's).
    type: Literal["string", "int", "bool", "enum", "password"] = "string"
    description: ShortText | None = None
    default: str | int | bool | None = None
    required: bool = False
    secret: bool = Field(default=False, description="Never shown or logged; always true for type password")
    pattern: str | None = Field(default=None, max_length=500, description="Regular expression a string must match")
    min: int | None = Field(default=None, description="int: minimum value; string/password: minimum length")
    max: int | None = Field(default=None, description="int: maximum value; string/password: maximum length")
    choices: list[str] | None = Field(default=None, max_length=200, description="Allowed values (enum only)")
    generate: bool = Field(default=False, description="password only: generate a random value when none is given")

    @model_validator(mode="after")
    def _consistent(self) -> Input:
        if self.type == InputType.password:
            self.secret = True
        if self.pattern is not None:
            if self.type not in (InputType.string, InputType.password):
                raise ValueError("pattern applies to string and password inputs")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from None
        if self.type == InputType.enum:
            if not self.choices:
                raise ValueError("an enum input needs choices")
        elif self.choices is not None:
            raise ValueError("choices apply to enum inputs only")
        if self.type in (InputType.bool, InputType.enum) and (self.min is not None or self.max is not None):
            raise ValueError("min/max apply to int, string and password inputs")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        if self.generate and self.type != InputType.password:
            raise ValueError("generate applies to password inputs only")
        if self.default is not None:
            self.check_value(self.default, what="default")
        return self

    def check_value(self, value: str | int | bool, *, what: str = "value") -> None:
        """Raise ValueError when ``value`` does not satisfy this input's type and constraints."""
        if self.type == InputType.bool:
            if not isinstance(value, bool):
                raise ValueError(f"{what} must be true or false")
            return
        if self.type == InputType.int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{what} must be an integer")
            if self.min is not None and value < self.min:
                raise ValueError(f"{what} must be ≥ {self.min}")
            if self.max is not None and value > self.max:
                raise ValueError(f"{what} must be ≤ {self.max}")
            return
        if not isinstance(value, str):
            raise ValueError(f"{what} must be a string")
        if self.type == InputType.enum:
            if value not in (self.choices or []):
                raise ValueError(f"{what} must be one of {', '.join(self.choices or [])}")
            return
        if self.min is not None and len(value) < self.min:
            raise ValueError(f"{what} must be at least {self.min} characters")
        if self.max is not None and len(value) > self.max:
            raise ValueError(f"{what} must be at most {self.max} characters")
        if self.pattern is not None and re.fullmatch(self.pattern, value) is None:
            raise ValueError(f"{what} does not match the pattern")


# ---------------------------------------------------------------- the manifest


class TemplateManifest(Strict):
    """``template.yaml``."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        populate_by_name=False,
        json_schema_extra={"$id": "https://lxc-manager.local/schema/template.schema.json"},
        title="LXC template manifest",
    )

    format: FormatVersion = Field(description="Format version of this file")
    name: Slug = Field(description="Equals the folder name")
    description: ShortText = ""
    version: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="Free-form version of the template's content"
    )
    tags: list[Tag] = Field(default_factory=list, max_length=30)
    os: OSSpec
    container: Container = Field(default_factory=Container)
    packages: Packages = Field(default_factory=Packages)
    scripts: list[ScriptName] | None = Field(
        default=None,
        max_length=200,
        description="Files in `scripts/`, run in this order; omitted: every file in `scripts/` in lexical order",
    )
    files: list[FileSpec] = Field(default_factory=list, max_length=500)
    hooks: Hooks = Field(default_factory=Hooks)
    services: list[Service] = Field(default_factory=list, max_length=50)
    credentials: list[Credential] = Field(default_factory=list, max_length=50)
    inputs: list[Input] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _unique_names(self) -> TemplateManifest:
        for label, names in (
            ("tags", self.tags),
            ("scripts", self.scripts or []),
            ("services", [s.name for s in self.services]),
            ("credentials", [c.name for c in self.credentials]),
            ("inputs", [i.name for i in self.inputs]),
            ("file destinations", [f.destination for f in self.files]),
        ):
            seen: set[str] = set()
            for name in names:
                if name in seen:
                    raise ValueError(f"duplicate entry in {label}: {name}")
                seen.add(name)
        services = {s.name for s in self.services}
        for credential in self.credentials:
            if credential.service is not None and credential.service not in services:
                raise ValueError(f"credential {credential.name} names an undeclared service {credential.service}")
        return self


class BucketManifest(Strict):
    """``buckets/<name>.yaml``: a named, reusable list of Debian packages."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"$id": "https://lxc-manager.local/schema/bucket.schema.json"},
        title="LXC package bucket",
    )

    format: FormatVersion = 1
    name: Slug
    description: ShortText = ""
    packages: list[PackageSpec] = Field(max_length=1000)

    @field_validator("packages")
    @classmethod
    def _unique_packages(cls, value: list[str]) -> list[str]:
        names = [package_name(spec) for spec in value]
        if len(set(names)) != len(names):
            raise ValueError("a package is listed twice")
        return value
