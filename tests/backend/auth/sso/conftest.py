"""One test OpenID provider per session (reset before each test) and settings pointing the app at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pydantic import SecretStr

from lxc_manager.auth import oidc_client
from lxc_manager.core.config import Settings
from oidc_provider import OIDCTestProvider


@pytest.fixture(scope="session")
def provider_server() -> Iterator[OIDCTestProvider]:
    provider = OIDCTestProvider()
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def provider(provider_server: OIDCTestProvider) -> Iterator[OIDCTestProvider]:
    """The provider, well-behaved again, and the app's discovery/JWKS caches empty."""
    provider_server.reset()
    oidc_client.clear_caches()
    yield provider_server
    oidc_client.clear_caches()


@pytest.fixture
def settings(settings: Settings, provider: OIDCTestProvider) -> Settings:
    """The shared settings with SSO pointed at the (freshly reset) test provider."""
    settings.oidc_issuer = provider.issuer
    settings.oidc_client_id = provider.client_id
    settings.oidc_client_secret = SecretStr(provider.client_secret)
    settings.public_url = "http://testserver"
    settings.oidc_auto_provision = False
    return settings


@pytest.fixture
async def idp_http() -> AsyncIterator[httpx.AsyncClient]:
    """The browser's connection to the provider (real HTTP)."""
    async with httpx.AsyncClient(timeout=10) as http:
        yield http
