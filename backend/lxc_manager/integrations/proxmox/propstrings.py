"""PVE property strings (``net0``, ``rootfs``, ``mpN``, ``features``): parse and build.

A property string is a comma-separated ``key=value`` list; one key (the format's ``default_key``, e.g. ``volume`` of
``rootfs``) may appear first without ``key=``. Unknown keys are kept in ``extra`` when parsing (newer PVE versions add
keys) and duplicate keys are rejected like PVE's ``parse_property_string``. Booleans are written ``1``/``0`` and read
from ``1|on|yes|true`` / ``0|off|no|false``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self, get_type_hints

__all__ = [
    "FeaturesSpec",
    "MountPointSpec",
    "NetSpec",
    "RootfsSpec",
    "build_property_string",
    "new_volume",
    "parse_bool",
    "parse_property_string",
]

_TRUE = {"1", "on", "yes", "true"}
_FALSE = {"0", "off", "no", "false"}
_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
# pve-container LXC.pm $NEW_DISK_RE: "<storage>:<GiB>" allocates a new volume.
NEW_DISK_RE = re.compile(r"^([^:\s]+):(\d+(\.\d+)?)$")


def parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def parse_property_string(text: str, default_key: str | None = None) -> dict[str, str]:
    """``"local-lvm:8,size=8G"`` with default_key ``volume`` → ``{"volume": "local-lvm:8", "size": "8G"}``."""
    result: dict[str, str] = {}
    for part in text.split(","):
        if part == "":
            continue
        key, sep, value = part.partition("=")
        if not sep:
            if default_key is None:
                raise ValueError(f"value without key in property string: {part!r}")
            key, value = default_key, part
        key = key.strip()
        if key in result:
            raise ValueError(f"duplicate key in property string: {key!r}")
        result[key] = value
    return result


def _encode(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def build_property_string(values: Mapping[str, Any], default_key: str | None = None) -> str:
    """Inverse of :func:`parse_property_string`; ``None`` values are left out, the default key goes first bare."""
    parts: list[str] = []
    for key, value in values.items():
        if value is None:
            continue
        if not _KEY_RE.match(key):
            raise ValueError(f"invalid property key {key!r}")
        text = _encode(value)
        if "," in text or (key == default_key and "=" in text) or text == "":
            raise ValueError(f"invalid value for {key!r}: {text!r}")
        if key == default_key:
            parts.insert(0, text)
        else:
            parts.append(f"{key}={text}")
    return ",".join(parts)


def new_volume(storage: str, size_gib: int | float) -> str:
    """``rootfs``/``mpN`` value that allocates a new ``size_gib`` GiB volume on ``storage`` (``local-lvm:8``)."""
    value = f"{storage}:{_encode(float(size_gib))}"
    if not NEW_DISK_RE.match(value) or size_gib <= 0:
        raise ValueError(f"invalid new volume {value!r}")
    return value


def _key(name: str, key: str | None = None) -> Any:
    return field(default=None, metadata={"key": key or name})


@dataclass
class _Spec:
    """Base of the typed specs: fields map to property keys (``metadata["key"]``), ``extra`` keeps the rest."""

    default_key: ClassVar[str | None] = None
    extra: dict[str, str] = field(default_factory=dict, kw_only=True)

    @classmethod
    def _keyed_fields(cls) -> list[tuple[str, str, Any]]:
        hints = get_type_hints(cls)
        return [(f.name, f.metadata["key"], hints[f.name]) for f in dataclasses.fields(cls) if "key" in f.metadata]

    def to_dict(self) -> dict[str, Any]:
        values: dict[str, Any] = {key: getattr(self, name) for name, key, _ in self._keyed_fields()}
        values.update(self.extra)
        return values

    def build(self) -> str:
        return build_property_string(self.to_dict(), self.default_key)

    def __str__(self) -> str:
        return self.build()

    @classmethod
    def parse(cls, text: str) -> Self:
        raw = parse_property_string(text, cls.default_key)
        kwargs: dict[str, Any] = {}
        for name, key, hint in cls._keyed_fields():
            if key not in raw:
                continue
            value = raw.pop(key)
            kinds = str(hint)
            if "bool" in kinds:
                kwargs[name] = parse_bool(value)
            elif "int" in kinds:
                kwargs[name] = int(value)
            elif "float" in kinds:
                kwargs[name] = float(value)
            else:
                kwargs[name] = value
        return cls(**kwargs, extra=raw)


@dataclass
class NetSpec(_Spec):
    """``netN``: ``name=eth0,bridge=vmbr0,ip=dhcp``. PVE adds ``hwaddr`` and ``type=veth`` when it stores it."""

    name: str | None = _key("name")
    bridge: str | None = _key("bridge")
    hwaddr: str | None = _key("hwaddr")
    ip: str | None = _key("ip")
    gw: str | None = _key("gw")
    ip6: str | None = _key("ip6")
    gw6: str | None = _key("gw6")
    tag: int | None = _key("tag")
    trunks: str | None = _key("trunks")
    mtu: int | None = _key("mtu")
    rate: float | None = _key("rate")
    firewall: bool | None = _key("firewall")
    link_down: bool | None = _key("link_down")
    host_managed: bool | None = _key("host_managed", "host-managed")
    type: str | None = _key("type")


@dataclass
class RootfsSpec(_Spec):
    """``rootfs``: ``local-lvm:8`` (new 8 GiB volume) or ``local-lvm:vm-201-disk-0,size=8G``."""

    default_key: ClassVar[str | None] = "volume"
    volume: str | None = _key("volume")
    size: str | None = _key("size")
    acl: bool | None = _key("acl")
    mountoptions: str | None = _key("mountoptions")
    quota: bool | None = _key("quota")
    replicate: bool | None = _key("replicate")
    ro: bool | None = _key("ro")
    shared: bool | None = _key("shared")


@dataclass
class MountPointSpec(_Spec):
    """``mpN``: ``local-lvm:10,mp=/data``."""

    default_key: ClassVar[str | None] = "volume"
    volume: str | None = _key("volume")
    mp: str | None = _key("mp")
    size: str | None = _key("size")
    acl: bool | None = _key("acl")
    backup: bool | None = _key("backup")
    keepattrs: bool | None = _key("keepattrs")
    mountoptions: str | None = _key("mountoptions")
    quota: bool | None = _key("quota")
    replicate: bool | None = _key("replicate")
    ro: bool | None = _key("ro")
    shared: bool | None = _key("shared")


@dataclass
class FeaturesSpec(_Spec):
    """``features``: ``nesting=1,keyctl=1``."""

    nesting: bool | None = _key("nesting")
    keyctl: bool | None = _key("keyctl")
    fuse: bool | None = _key("fuse")
    mknod: bool | None = _key("mknod")
    force_rw_sys: bool | None = _key("force_rw_sys")
    mount: str | None = _key("mount")
