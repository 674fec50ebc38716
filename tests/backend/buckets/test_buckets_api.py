"""Package bucket CRUD: validation, write-back to buckets/<name>.yaml, usage by templates, 409 when in use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI

from lxc_manager.core.db import unit_of_work
from lxc_manager.templates.service import run_sync

API = "/api/v1/buckets"


def error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    payload: dict[str, Any] = response.json()
    assert set(payload) >= {"error", "detail"}
    if code:
        assert payload["error"] == code
    return payload


async def test_list_and_get_the_synced_bucket(writer: httpx.AsyncClient) -> None:
    listing = (await writer.get(API)).json()
    assert [b["name"] for b in listing["items"]] == ["base"] and listing["total"] == 1
    detail = (await writer.get(f"{API}/base")).json()
    assert detail["packages"] == ["ca-certificates", "curl", "iproute2", "procps"]
    assert (detail["origin"], detail["file"], detail["templates"]) == ("filesystem", "base.yaml", ["minimal"])
    assert (await writer.get(f"{API}/base/templates")).json() == {"bucket": "base", "templates": ["minimal"]}
    assert [b["name"] for b in (await writer.get(API, params={"q": "TLS"})).json()["items"]] == ["base"]
    error(await writer.get(f"{API}/nope"), 404, "not_found")


async def test_create_update_delete_write_back(app: FastAPI, writer: httpx.AsyncClient, lxc_tree: Path) -> None:
    body = {"name": "web", "description": "Web server", "packages": ["nginx=1.22*", "certbot"]}
    response = await writer.post(API, json=body)
    assert response.status_code == 201, response.text
    assert response.json()["origin"] == "dashboard"
    path = lxc_tree / "buckets" / "web.yaml"
    assert yaml.safe_load(path.read_text()) == {"format": 1, **body}
    error(await writer.post(API, json=body), 409, "bucket_exists")

    response = await writer.put(f"{API}/web", json={"description": "Web", "packages": ["nginx"]})
    assert response.status_code == 200 and response.json()["packages"] == ["nginx"]
    assert yaml.safe_load(path.read_text())["packages"] == ["nginx"]

    state = app.state.lxcm
    async with unit_of_work(state.sessionmaker) as session:
        report = await run_sync(session, state.settings, None)
    assert "web" in report.buckets.unchanged and not report.changed  # the file and the DB agree

    assert (await writer.delete(f"{API}/web")).status_code == 204
    assert not path.exists()
    error(await writer.get(f"{API}/web"), 404)


@pytest.mark.parametrize(
    "packages",
    [
        ["Nginx"],
        ["nginx; rm -rf /"],
        ["nginx=abc"],
        ["nginx="],
        ["-o APT::Get::AllowUnauthenticated=1"],
        ["nginx", "nginx=1.0"],
        ["a"],
        [],
    ],
)
async def test_packages_are_validated(writer: httpx.AsyncClient, packages: list[str]) -> None:
    response = await writer.post(API, json={"name": "bad", "packages": packages})
    if packages == []:
        assert response.status_code == 201  # an empty bucket is allowed
        return
    error(response, 422)


async def test_bucket_names_are_slugs(writer: httpx.AsyncClient) -> None:
    error(await writer.post(API, json={"name": "../etc", "packages": ["curl"]}), 422)
    error(await writer.get(f"{API}/Bad_Name"), 422)


async def test_deleting_a_bucket_in_use_is_409_naming_the_templates(writer: httpx.AsyncClient) -> None:
    payload = error(await writer.delete(f"{API}/base"), 409, "bucket_in_use")
    assert "minimal" in payload["detail"]


async def test_bucket_change_changes_the_resolved_packages(writer: httpx.AsyncClient) -> None:
    response = await writer.put(f"{API}/base", json={"description": "x", "packages": ["curl=7.88*", "python3", "jq"]})
    assert response.status_code == 200, response.text
    packages = (await writer.get("/api/v1/templates/minimal")).json()["packages"]
    assert packages == [
        {"name": "curl", "spec": "curl=7.88*", "sources": ["base"]},
        {"name": "python3", "spec": "python3", "sources": ["base", "extra"]},
        {"name": "jq", "spec": "jq", "sources": ["base"]},
    ]
    templates = (await writer.get("/api/v1/templates", params={"bucket": "base"})).json()["items"]
    assert [t["name"] for t in templates] == ["minimal"]


async def test_read_only_buckets_answer_409(app: FastAPI, writer: httpx.AsyncClient) -> None:
    app.state.lxcm.settings.templates_read_only = True
    error(await writer.put(f"{API}/base", json={"packages": ["curl"]}), 409, "templates_read_only")
    response = await writer.post(API, json={"name": "db-only", "packages": ["curl"]})
    assert response.status_code == 201 and response.json()["file"] is None
    assert (await writer.delete(f"{API}/db-only")).status_code == 204


async def test_writes_need_write_scope(app: FastAPI, client: httpx.AsyncClient) -> None:
    from helpers import login_as

    error(await client.get(API), 401)
    await login_as(app, client, "viewer", role="viewer")
    assert (await client.get(API)).status_code == 200
    error(await client.post(API, json={"name": "x", "packages": ["curl"]}), 403)
    error(await client.delete(f"{API}/base"), 403)
