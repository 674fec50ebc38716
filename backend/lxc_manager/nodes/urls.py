"""Where the dashboard may connect: the SSRF guard for node API URLs and SSH hosts.

A node's address is admin input, and the server connects to it with credentials, so the address is checked
against ranges no Proxmox node lives in (cloud metadata, link-local, multicast, unspecified, reserved) and,
in production, loopback and ports other than 443/8006 (configurable). Host names are resolved and every
address they resolve to is checked, at registration and again before each probe or test.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from urllib.parse import urlsplit

from lxc_manager.core.config import Environment, Settings

DEFAULT_API_PORT = 8006
PRODUCTION_API_PORTS = (443, 8006)
RESOLVE_TIMEOUT_S = 3.0
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME_RE = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*\.?$")
# Metadata services outside the link-local ranges (AWS IPv6, Alibaba).
_METADATA_ADDRESSES = {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(ValueError):
    """The address is not one the dashboard may connect to; the message says why in plain words."""


def _unwrap(ip: IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def loopback_allowed(settings: Settings) -> bool:
    return settings.environment != Environment.production or settings.node_allow_loopback


def check_ip(ip: IPAddress, settings: Settings) -> None:
    ip = _unwrap(ip)
    if ip in _METADATA_ADDRESSES or ip.is_link_local:
        raise AddressRefused(f"{ip} is a link-local/cloud-metadata address")
    if ip.is_unspecified:
        raise AddressRefused(f"{ip} is the unspecified address")
    if ip.is_multicast:
        raise AddressRefused(f"{ip} is a multicast address")
    if ip.is_loopback:
        if not loopback_allowed(settings):
            raise AddressRefused(f"{ip} is a loopback address (refused in production; see LXCM_NODE_ALLOW_LOOPBACK)")
        return
    if ip.is_reserved or (isinstance(ip, ipaddress.IPv4Address) and ip == ipaddress.IPv4Address("255.255.255.255")):
        raise AddressRefused(f"{ip} is a reserved address")


async def resolve(host: str) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_S):
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (TimeoutError, OSError):
        raise AddressRefused(f"host name {host!r} does not resolve") from None
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


async def check_host(host: str, settings: Settings) -> str:
    """Validate a host (IP literal or DNS name), check every address it resolves to; return it normalised."""
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        ip = None
    if ip is not None:
        if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
            raise AddressRefused("IPv6 zone ids (%…) are not allowed")
        check_ip(ip, settings)
        return ip.compressed
    if not _HOSTNAME_RE.match(text):
        raise AddressRefused(f"{host!r} is not a valid host name or IP address")
    text = text.rstrip(".")
    if text == "localhost" or text.endswith(".localhost"):
        check_ip(ipaddress.ip_address("127.0.0.1"), settings)
    for address in await resolve(text):
        check_ip(address, settings)
    return text


async def check_api_url(url: str, settings: Settings) -> str:
    """``https://host[:port][/]`` → ``https://host:port`` after the SSRF checks; AddressRefused otherwise."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise AddressRefused("not a valid URL (check the port)") from None
    if parts.scheme.lower() != "https":
        raise AddressRefused("the API URL must start with https://")
    if parts.username is not None or parts.password is not None:
        raise AddressRefused("the API URL must not contain credentials; use the token fields")
    if parts.query or parts.fragment or parts.path not in ("", "/"):
        raise AddressRefused("give only https://host[:port]; the API path is added automatically")
    if not parts.hostname:
        raise AddressRefused("the API URL has no host")
    port = port or DEFAULT_API_PORT
    if port < 1:
        raise AddressRefused("the port must be between 1 and 65535")
    if settings.environment == Environment.production:
        allowed = settings.node_api_ports or list(PRODUCTION_API_PORTS)
        if port not in allowed:
            raise AddressRefused(f"port {port} is not allowed (allowed: {', '.join(map(str, allowed))})")
    host = await check_host(parts.hostname, settings)
    shown = f"[{host}]" if ":" in host else host
    return f"https://{shown}:{port}"
