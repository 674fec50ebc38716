"""The SSRF guard for node addresses, including the production-only rules (loopback, ports)."""

from __future__ import annotations

import pytest

from lxc_manager.core.config import Environment, Settings
from lxc_manager.nodes.urls import AddressRefused, check_api_url, check_host


def make_settings(environment: Environment, **overrides: object) -> Settings:
    return Settings(environment=environment, **overrides)  # type: ignore[arg-type]


PRODUCTION = make_settings(Environment.production)
TEST = make_settings(Environment.test)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://10.0.0.5", "https://10.0.0.5:8006"),
        ("https://10.0.0.5:443/", "https://10.0.0.5:443"),
        ("HTTPS://[2001:DB8::1]:8006", "https://[2001:db8::1]:8006"),
        ("https://192.168.1.10:8006", "https://192.168.1.10:8006"),
    ],
)
async def test_accepted_and_normalised(url: str, expected: str) -> None:
    assert await check_api_url(url, PRODUCTION) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1:8006", "loopback"),
        ("https://localhost:6379", "not allowed"),  # Redis on the dashboard host: wrong port and loopback
        ("https://localhost:8006", "loopback"),
        ("https://[::1]:8006", "loopback"),
        ("https://[::ffff:127.0.0.1]:8006", "loopback"),
        ("https://10.0.0.5:6379", "port 6379 is not allowed"),
        ("https://10.0.0.5:22", "port 22 is not allowed"),
        ("https://169.254.169.254", "metadata"),
        ("https://[fe80::1%25eth0]:8006", "zone ids"),
        ("https://[2001:db8::1%25eth0]:8006", "zone ids"),
    ],
)
async def test_production_refusals(url: str, reason: str) -> None:
    with pytest.raises(AddressRefused, match=reason):
        await check_api_url(url, PRODUCTION)


async def test_loopback_and_ports_are_configurable() -> None:
    relaxed = make_settings(Environment.production, node_allow_loopback=True, node_api_ports=[8443])
    assert await check_api_url("https://127.0.0.1:8443", relaxed) == "https://127.0.0.1:8443"
    with pytest.raises(AddressRefused, match="port 8006"):
        await check_api_url("https://127.0.0.1:8006", relaxed)
    # development/test: the simulator listens on loopback at any port
    assert await check_api_url("https://127.0.0.1:31337", TEST) == "https://127.0.0.1:31337"
    with pytest.raises(AddressRefused, match="metadata"):
        await check_api_url("https://169.254.169.254:31337", TEST)  # never allowed


async def test_host_names_are_resolved_and_every_address_checked() -> None:
    assert await check_host("localhost", TEST) == "localhost"
    with pytest.raises(AddressRefused, match="loopback"):
        await check_host("localhost", PRODUCTION)
    with pytest.raises(AddressRefused, match="does not resolve"):
        await check_host("definitely-not-a-host.invalid", TEST)
