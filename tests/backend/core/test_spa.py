"""The backend serves the built SPA: assets, index.html for client routes, and API paths left alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from lxc_manager.core.config import Settings
from lxc_manager.main import create_app

INDEX = "<!doctype html><html><body><div id=root></div><script src=/assets/app-abc123.js></script></body></html>"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "app-abc123.js").write_text("console.log('app')")
    (root / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("outside dist")
    return root


@pytest.fixture
async def spa_client(settings: Settings, dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"frontend_dir": dist}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.mark.parametrize("path", ["/", "/templates", "/deployments/42", "/settings/nodes?x=1"])
async def test_client_routes_get_index_html(spa_client: httpx.AsyncClient, path: str) -> None:
    response = await spa_client.get(path)
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["cache-control"] == "no-cache"
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp


async def test_hashed_assets_are_cached_for_a_year(spa_client: httpx.AsyncClient) -> None:
    response = await spa_client.get("/assets/app-abc123.js")
    assert response.status_code == 200
    assert "immutable" in response.headers["cache-control"]
    missing = await spa_client.get("/assets/gone-000.js")
    assert missing.status_code == 404


async def test_top_level_files_are_served(spa_client: httpx.AsyncClient) -> None:
    response = await spa_client.get("/favicon.svg")
    assert response.text == "<svg/>"


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt"])
async def test_nothing_outside_dist_is_served(spa_client: httpx.AsyncClient, path: str) -> None:
    response = await spa_client.get(path)
    assert "outside dist" not in response.text


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api", "/healthzz/x"])
async def test_unknown_api_paths_keep_their_json_404(spa_client: httpx.AsyncClient, path: str) -> None:
    response = await spa_client.get(path)
    if path.startswith("/healthzz"):
        assert response.status_code == 200  # not an API path: a client route like any other
        return
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_api_still_answers(spa_client: httpx.AsyncClient) -> None:
    assert (await spa_client.get("/healthz")).status_code == 200
    assert (await spa_client.get("/api/v1/auth/me")).status_code == 401


async def test_without_a_build_the_root_is_a_plain_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/templates")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
