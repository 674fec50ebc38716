"""TLS trust against a real HTTPS server on 127.0.0.1: pins, CA bundles, pooled reconnects, fetch_certificate."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pve_fake import TOKEN_ID, TOKEN_SECRET
from pve_tls_server import free_port, make_self_signed, raw_tls_listener, serve_https

from lxc_manager.integrations.proxmox import (
    ProxmoxClient,
    ProxmoxTLSError,
    TLSConfig,
    fetch_certificate,
    normalize_fingerprint,
)
from lxc_manager.integrations.proxmox.tls import certificate_fingerprint


def _fingerprint(der: bytes) -> str:
    return normalize_fingerprint(hashlib.sha256(der).hexdigest())


def _client(url: str, tls: TLSConfig) -> ProxmoxClient:
    return ProxmoxClient(url, TOKEN_ID, TOKEN_SECRET, tls=tls, retries=0)


async def test_pinned_fingerprint_match_sends_the_token(tmp_path: Path) -> None:
    cert = make_self_signed(tmp_path)
    with serve_https(cert) as (url, seen):
        async with _client(url, TLSConfig(mode="fingerprint", fingerprint_sha256=_fingerprint(cert.der))) as client:
            version = await client.version()
    assert version.release == "9.1"
    assert seen.authorization_headers() == [f"PVEAPIToken={TOKEN_ID}={TOKEN_SECRET}"]


async def test_pin_mismatch_fails_before_any_http_byte(tmp_path: Path) -> None:
    cert = make_self_signed(tmp_path)
    other = make_self_signed(tmp_path, "other")
    with serve_https(cert) as (url, seen):
        async with _client(url, TLSConfig(mode="fingerprint", fingerprint_sha256=_fingerprint(other.der))) as client:
            with pytest.raises(ProxmoxTLSError) as info:
                await client.version()
    assert info.value.expected_fingerprint == _fingerprint(other.der)
    assert info.value.actual_fingerprint == _fingerprint(cert.der)
    assert seen.headers == []  # not a single HTTP request, so no Authorization header
    assert TOKEN_SECRET not in str(info.value) and TOKEN_SECRET not in repr(info.value)


async def test_pin_mismatch_sends_no_application_bytes_at_all(tmp_path: Path) -> None:
    cert = make_self_signed(tmp_path)
    wrong_pin = "AB" * 32
    tls = TLSConfig(mode="fingerprint", fingerprint_sha256=wrong_pin)
    async with raw_tls_listener(cert) as (url, received), _client(url, tls) as client:
        with pytest.raises(ProxmoxTLSError):
            await client.version()
    assert b"".join(received) == b""


async def test_certificate_swapped_between_pooled_connections_is_caught(tmp_path: Path) -> None:
    """A new connection (after the old one closed) is pinned again: the swapped server never sees the token."""
    first = make_self_signed(tmp_path, "first")
    second = make_self_signed(tmp_path, "second")
    port = free_port()
    tls = TLSConfig(mode="fingerprint", fingerprint_sha256=_fingerprint(first.der))
    async with _client(f"https://127.0.0.1:{port}", tls) as client:
        with serve_https(first, port) as (_, seen_first):
            await client.version()
        assert len(seen_first.authorization_headers()) == 1
        with serve_https(second, port) as (_, seen_second), pytest.raises(ProxmoxTLSError):
            await client.version()
        assert seen_second.headers == []


async def test_ca_bundle_trusts_the_node_and_system_store_does_not(tmp_path: Path) -> None:
    cert = make_self_signed(tmp_path)
    with serve_https(cert) as (url, seen):
        async with _client(url, TLSConfig(mode="ca_bundle", ca_bundle_pem=cert.pem)) as client:
            assert (await client.version()).version == "9.1.9"
        async with _client(url, TLSConfig(mode="system")) as client:
            with pytest.raises(ProxmoxTLSError):
                await client.version()
        other = make_self_signed(tmp_path, "other")
        async with _client(url, TLSConfig(mode="ca_bundle", ca_bundle_pem=other.pem)) as client:
            with pytest.raises(ProxmoxTLSError):
                await client.version()
    assert len(seen.headers) == 1


async def test_fetch_certificate_reads_the_leaf_without_an_http_request(tmp_path: Path) -> None:
    cert = make_self_signed(tmp_path)
    with serve_https(cert) as (url, seen):
        info = await fetch_certificate(url)
    assert info.fingerprint_sha256 == certificate_fingerprint(cert.der) == _fingerprint(cert.der)
    assert info.subject == "CN=pve1.test" == info.issuer
    assert info.san == ["localhost", "127.0.0.1"]
    assert info.not_before < info.not_after
    assert info.pem.strip() == cert.pem.strip()
    assert seen.headers == []


def test_tls_config_validates_its_inputs() -> None:
    with pytest.raises(ValueError):
        TLSConfig(mode="fingerprint")
    with pytest.raises(ValueError):
        TLSConfig(mode="fingerprint", fingerprint_sha256="12:34")
    with pytest.raises(ValueError):
        TLSConfig(mode="ca_bundle")
    pin = TLSConfig(mode="fingerprint", fingerprint_sha256="ab" * 32).fingerprint_sha256
    assert pin == ":".join(["AB"] * 32)
    assert normalize_fingerprint("sha256 " + ":".join(["cd"] * 32)) == ":".join(["CD"] * 32)
