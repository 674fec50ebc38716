"""Named string formats of the PVE schema (``"format": "pve-vmid"`` …), re-implemented from their documented rules.

Each validator raises :class:`FormatError` with PVE's own message (``die "...\\n"``); the caller prefixes it with
``invalid format - ``. Formats ending in ``-list`` split the value like ``PVE::Tools::split_list`` and check each item;
``-opt`` formats also accept the empty string. Formats we do not know are accepted (documented deviation: the
simulator must never reject a call real PVE would take).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

Validator = Callable[[str], None]


class FormatError(Exception):
    """A value that does not match its named format (message ends with a newline, like a Perl ``die``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message if message.endswith("\n") else message + "\n")
        self.message = str(self.args[0])


_NODE_RE = re.compile(r"^([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)$")
_VMID_RE = re.compile(r"^[1-9][0-9]{2,8}$")
_ID_RE = re.compile(r"^[a-z][a-z0-9\-_.]*[a-z0-9]$", re.IGNORECASE)
_CONFIGID_RE = re.compile(r"^[a-z][a-z0-9_-]+$", re.IGNORECASE)
_DNS_LABEL = r"([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)"
_DNS_RE = re.compile(rf"^({_DNS_LABEL}\.)*{_DNS_LABEL}$")
_MAC_RE = re.compile(r"^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}$", re.IGNORECASE)
_POOL_RE = re.compile(r"^[A-Za-z0-9.\-_]+$")
_TAG_RE = re.compile(r"^[a-z0-9_][a-z0-9_\-+.]*$", re.IGNORECASE)
_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)([KMGT])?$")
_BRIDGE_RE = re.compile(r"^[-_.\w\d]+$")
_URLENCODED_RE = re.compile(r"^[-%a-zA-Z0-9_.!~*'()]*$")
_VOLUME_ID_RE = re.compile(r"^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$", re.IGNORECASE)
_TIMEZONE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-/]*$")
_CPUSET_RE = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")
STORAGE_CONTENT_TYPES = frozenset({"images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import", "none"})
TASK_STATUS_TYPES = frozenset({"ok", "error", "warning", "unknown"})


def split_list(value: str) -> list[str]:
    """``PVE::Tools::split_list``: NUL-separated, else commas/semicolons/whitespace."""
    if "\0" in value:
        return value.split("\0")
    return [item for item in re.split(r"[,;\s]+", value.strip()) if item]


def _check(regex: re.Pattern[str], message: str) -> Validator:
    def validate(value: str) -> None:
        if not regex.match(value):
            raise FormatError(message.format(value=value))

    return validate


def _ipv4(value: str) -> None:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise FormatError("value does not look like a valid IPv4 address") from None


def _ipv6(value: str) -> None:
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        raise FormatError("value does not look like a valid IPv6 address") from None


def _cidr(value: str, version: int | None = None) -> bool:
    if "/" not in value:
        return False
    try:
        net = ipaddress.ip_interface(value)
    except ValueError:
        return False
    return version is None or net.version == version


def _cidr_format(value: str) -> None:
    if not _cidr(value):
        raise FormatError(f"value does not look like a valid CIDR network: {value}")


def _ipv4_config(value: str) -> None:
    if value in {"dhcp", "manual"} or _cidr(value, 4):
        return
    raise FormatError("value does not look like a valid ipv4 network configuration")


def _ipv6_config(value: str) -> None:
    if value in {"dhcp", "manual", "auto"} or _cidr(value, 6):
        return
    raise FormatError("value does not look like a valid ipv6 network configuration")


def _ip_address(value: str) -> None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise FormatError(f"value '{value}' does not look like a valid IP address") from None


def _ip_with_ll_iface(value: str) -> None:
    # fe80::1%eth0 — a link-local address may carry its interface.
    address, _, iface = value.partition("%")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise FormatError(f"value '{value}' does not look like a valid IP address") from None
    if iface and not (isinstance(ip, ipaddress.IPv6Address) and ip.is_link_local):
        raise FormatError(f"value '{value}' does not look like a valid IP address")


def _disk_size(value: str) -> None:
    if not _SIZE_RE.match(value):
        raise FormatError(f"value '{value}' is not a valid disk size")


def _storage_id(value: str) -> None:
    if not _ID_RE.match(value):
        raise FormatError(f"storage ID '{value}' contains illegal characters")


def _volume_id(value: str) -> None:
    match = _VOLUME_ID_RE.match(value)
    if not match:
        raise FormatError(f"unable to parse volume ID '{value}'")


def _volume_or_path(allow_qm_path: bool) -> Validator:
    def validate(value: str) -> None:
        if value.startswith("/"):
            return
        if allow_qm_path and value in {"none", "cdrom"}:
            return
        if _VOLUME_ID_RE.match(value):
            return
        raise FormatError(f"unable to parse volume ID '{value}'")

    return validate


def _lxc_mp_string(value: str) -> None:
    if re.search(r"/\.\.?/", value) or re.search(r"/\.\.?$", value) or value.startswith("../"):
        raise FormatError(f"{value} contains illegal character sequences")


def _storage_content(value: str) -> None:
    if value not in STORAGE_CONTENT_TYPES:
        raise FormatError(f"invalid content type '{value}'")


def _startup_order(value: str) -> None:
    for part in value.split(","):
        key, sep, val = part.partition("=")
        if not sep and re.fullmatch(r"\d+", key):
            continue
        if key in {"order", "up", "down"} and re.fullmatch(r"\d+", val):
            continue
        raise FormatError("unable to parse startup options")


def _task_status_type(value: str) -> None:
    if value not in TASK_STATUS_TYPES:
        raise FormatError(f"invalid task status type '{value}'")


def _realm(value: str) -> None:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9.\-_]+", value):
        raise FormatError(f"realm '{value}' contains illegal characters")


def _storage_pair(value: str) -> None:
    source, sep, target = value.partition(":")
    if not sep:
        _storage_id(value)
        return
    _storage_id(source)
    _storage_id(target)


def _lxc_dev_string(value: str) -> None:
    if not value.startswith("/dev/") or ".." in value:
        raise FormatError(f"not a valid device path '{value}'")


NAMED_FORMATS: dict[str, Validator] = {
    "pve-node": _check(_NODE_RE, "value does not look like a valid node name"),
    "pve-vmid": _check(_VMID_RE, "value does not look like a valid VM ID"),
    "pve-storage-id": _storage_id,
    "pve-configid": _check(_CONFIGID_RE, "invalid configuration ID '{value}'"),
    "pve-poolid": _check(_POOL_RE, "value '{value}' does not look like a valid pool name"),
    "pve-tag": _check(_TAG_RE, "invalid tag '{value}'"),
    "dns-name": _check(_DNS_RE, "value does not look like a valid DNS name"),
    "mac-addr": _check(_MAC_RE, "value does not look like a valid unicast MAC address"),
    "pve-bridge-id": _check(_BRIDGE_RE, "value '{value}' does not look like a valid bridge/vnet name"),
    "urlencoded": _check(_URLENCODED_RE, "{value} contains invalid characters for url encoding"),
    "pve-ct-timezone": _check(_TIMEZONE_RE, "invalid time zone '{value}'"),
    "pve-cpuset": _check(_CPUSET_RE, "value '{value}' is not a valid CPU set"),
    "ipv4": _ipv4,
    "ipv6": _ipv6,
    "ip": _ip_address,
    "address": _ip_address,
    "CIDR": _cidr_format,
    "pve-ipv4-config": _ipv4_config,
    "pve-ipv6-config": _ipv6_config,
    "lxc-ip-with-ll-iface": _ip_with_ll_iface,
    "disk-size": _disk_size,
    "pve-volume-id": _volume_id,
    "pve-volume-id-or-qm-path": _volume_or_path(allow_qm_path=True),
    "pve-volume-id-or-absolute-path": _volume_or_path(allow_qm_path=False),
    "pve-lxc-mp-string": _lxc_mp_string,
    "pve-lxc-dev-string": _lxc_dev_string,
    "pve-storage-content": _storage_content,
    "pve-startup-order": _startup_order,
    "pve-task-status-type": _task_status_type,
    "pve-realm": _realm,
    "storage-pair": _storage_pair,
}


def check_named_format(name: str, value: str) -> None:
    """Validate ``value`` against the named format; unknown names pass (see module docstring)."""
    if name in NAMED_FORMATS:
        NAMED_FORMATS[name](value)
        return
    if name.endswith("-list"):
        item_format = name[: -len("-list")]
        for item in split_list(value):
            check_named_format(item_format, item)
        return
    if name.endswith("-opt") and value != "":
        check_named_format(name[: -len("-opt")], value)
