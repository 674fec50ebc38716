from __future__ import annotations

import httpx


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"]


async def test_readyz_checks_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "skipped"}}


async def test_unknown_path_uses_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "Not Found"}


async def test_nul_in_url_is_a_clear_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/audit", params={"action": "a\x00b"})
    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"
    response = await client.get("/api/v1/templates/a%00b")
    assert response.status_code == 422
