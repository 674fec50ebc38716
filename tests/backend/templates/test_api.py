"""The catalogue API: list/search/filter, detail, editing with ETag/If-Match, revisions, diff, clone, delete."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from lxc_manager.core.db import unit_of_work
from lxc_manager.templates.service import run_sync

API = "/api/v1/templates"


def body_from_folder(folder: Path, *, name: str | None = None, message: str | None = None) -> dict[str, Any]:
    manifest = (folder / "template.yaml").read_text()
    if name is not None:
        manifest = manifest.replace(f"name: {folder.name}", f"name: {name}")
    files = {
        str(path.relative_to(folder)): {"content": path.read_text(), "mode": "0755" if path.suffix == ".sh" else "0644"}
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != "template.yaml"
    }
    return {"manifest_yaml": manifest, "files": files, "message": message}


async def sync_report(app: FastAPI) -> Any:
    state = app.state.lxcm
    async with unit_of_work(state.sessionmaker) as session:
        return await run_sync(session, state.settings, None)


async def create_copy(writer: httpx.AsyncClient, lxc_tree: Path, name: str, **extra: Any) -> httpx.Response:
    body = body_from_folder(lxc_tree / "templates" / "minimal", name=name)
    if extra.get("tags"):
        body["manifest_yaml"] = body["manifest_yaml"].replace("tags: [debian, demo, web]", f"tags: {extra['tags']}")
    response = await writer.post(API, json=body)
    assert response.status_code == 201, response.text
    return response


def assert_error_shape(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    payload: dict[str, Any] = response.json()
    assert isinstance(payload["error"], str) and isinstance(payload["detail"], str)
    if code:
        assert payload["error"] == code
    return payload


# ---------------------------------------------------------------- reading


async def test_detail_has_config_scripts_packages_files_and_etag(writer: httpx.AsyncClient) -> None:
    response = await writer.get(f"{API}/minimal")
    assert response.status_code == 200
    detail = response.json()
    assert response.headers["etag"] == detail["etag"] and detail["etag"].startswith('"1-')
    assert detail["config"]["os"]["template"] == "debian-12-standard"
    assert detail["config"]["container"]["features"]["nesting"] is True
    assert [s["name"] for s in detail["scripts"]] == ["10-web.sh"]
    assert "systemctl restart minimal-web.service" in detail["scripts"][0]["content"]
    assert detail["hooks"] == [
        {**detail["hooks"][0], "event": "post-start", "target": "container", "name": "wait-network.sh"}
    ]
    packages = {p["name"]: p["sources"] for p in detail["packages"]}
    assert packages == {
        "ca-certificates": ["base"],
        "curl": ["base"],
        "iproute2": ["base"],
        "procps": ["base"],
        "python3": ["extra"],
    }
    assert {f["destination"] for f in detail["files"]} == {
        "/srv/www/index.html.in",
        "/etc/systemd/system/minimal-web.service",
    }
    assert detail["services"][0]["web_ui"] == "/" and detail["services"][0]["port"] == 8080
    assert detail["credentials"][0]["capture"]["file"] == "/etc/minimal-web/admin_password"
    assert {i["name"]: i["secret"] for i in detail["inputs"]} == {"greeting": False, "admin_password": True}
    assert detail["writable"] is True and detail["origin"] == "filesystem"


async def test_list_search_filters_sort_and_pagination(writer: httpx.AsyncClient, lxc_tree: Path) -> None:
    await create_copy(writer, lxc_tree, "alpha-db", tags="[database, postgres]")
    await create_copy(writer, lxc_tree, "zeta-web", tags="[web, nginx]")

    listing = (await writer.get(API)).json()
    assert [t["name"] for t in listing["items"]] == ["alpha-db", "minimal", "zeta-web"]
    assert listing["total"] == 3 and listing["items"][1]["buckets"] == ["base"]
    assert next(t["name"] for t in (await writer.get(API, params={"sort": "-name"})).json()["items"]) == "zeta-web"
    page = (await writer.get(API, params={"limit": 1, "offset": 1})).json()
    assert page["total"] == 3 and [t["name"] for t in page["items"]] == ["minimal"]

    async def names(**params: Any) -> list[str]:
        response = await writer.get(API, params=params)
        assert response.status_code == 200, response.text
        return [t["name"] for t in response.json()["items"]]

    assert await names(q="POSTGRES") == ["alpha-db"]  # tag text, case-insensitive
    assert await names(q="tiny web page") == ["alpha-db", "minimal", "zeta-web"]  # description
    assert await names(q="%") == []  # LIKE wildcards are literal
    assert await names(tag="web") == ["minimal", "zeta-web"]
    assert await names(tag="nginx") == ["zeta-web"]
    assert await names(os="debian-12-standard", origin="dashboard") == ["alpha-db", "zeta-web"]
    assert await names(origin="filesystem") == ["minimal"]
    assert await names(bucket="base") == ["alpha-db", "minimal", "zeta-web"]
    assert await names(bucket="none") == []
    assert_error_shape(await writer.get(API, params={"sort": "drop table"}), 422, "validation_error")
    assert_error_shape(await writer.get(API, params={"limit": 0}), 422)


async def test_reads_need_authentication_and_writes_need_write_scope(app: FastAPI, client: httpx.AsyncClient) -> None:
    from helpers import login_as

    assert_error_shape(await client.get(API), 401)
    await login_as(app, client, "viewer", role="viewer")
    assert (await client.get(f"{API}/minimal")).status_code == 200
    assert_error_shape(await client.post(f"{API}/sync"), 403)
    assert_error_shape(await client.put(f"{API}/minimal", json={"manifest_yaml": "x"}), 403)
    assert_error_shape(await client.get(f"{API}/minimal/export"), 403)


async def test_unknown_template_is_404_in_the_error_shape(writer: httpx.AsyncClient) -> None:
    assert_error_shape(await writer.get(f"{API}/nope"), 404, "not_found")
    assert_error_shape(await writer.get(f"{API}/minimal/revisions/9"), 404, "not_found")
    assert_error_shape(await writer.get(f"{API}/Bad..Name"), 422)


# ---------------------------------------------------------------- editing


async def test_create_writes_the_folder_and_the_next_sync_is_unchanged(
    app: FastAPI, writer: httpx.AsyncClient, lxc_tree: Path
) -> None:
    response = await create_copy(writer, lxc_tree, "created")
    detail = response.json()
    assert (detail["origin"], detail["folder"], detail["current_revision"]) == ("dashboard", "created", 1)
    folder = lxc_tree / "templates" / "created"
    assert "name: created" in (folder / "template.yaml").read_text()
    assert (folder / "scripts" / "10-web.sh").stat().st_mode & 0o777 == 0o755
    assert not [p for p in (lxc_tree / "templates").iterdir() if p.name.startswith(".")]  # no temp leftovers
    report = await sync_report(app)
    assert "created" in report.unchanged and not report.changed
    assert_error_shape(await writer.post(API, json=body_from_folder(folder)), 409, "template_exists")


async def test_create_validates_with_precise_fields(writer: httpx.AsyncClient, lxc_tree: Path) -> None:
    body = body_from_folder(lxc_tree / "templates" / "minimal", name="bad")
    body["manifest_yaml"] = body["manifest_yaml"].replace("memory: 512", "memory: -5")
    payload = assert_error_shape(await writer.post(API, json=body), 422, "invalid_template")
    assert any("container.memory" in field["loc"] for field in payload["fields"])
    assert "line 13" in payload["fields"][0]["msg"]  # `  memory: -5` in template.yaml

    body = body_from_folder(lxc_tree / "templates" / "minimal", name="bad")
    del body["files"]["scripts/10-web.sh"]
    payload = assert_error_shape(await writer.post(API, json=body), 422, "invalid_template")
    assert "scripts/10-web.sh" in payload["detail"]

    for path in ("../evil.sh", "/etc/passwd", "scripts/../../x", "other/x", "scripts/.hidden", "template.yaml"):
        body = body_from_folder(lxc_tree / "templates" / "minimal", name="bad")
        body["files"][path] = {"content": "x"}
        assert_error_shape(await writer.post(API, json=body), 422, "invalid_template")
    assert not (lxc_tree / "evil.sh").exists() and not (lxc_tree / "templates" / "bad").exists()

    body = body_from_folder(lxc_tree / "templates" / "minimal", name="bad")
    body["files"]["files/blob.bin"] = {"content": "not base64!", "encoding": "base64"}
    assert_error_shape(await writer.post(API, json=body), 422, "invalid_template")
    assert_error_shape(await writer.post(API, json={"files": {}}), 422)
    bad_yaml = {"manifest_yaml": "!!python/object/apply:os.system ['id']\n"}
    assert_error_shape(await writer.post(API, json=bad_yaml), 422, "invalid_template")


async def test_create_from_a_manifest_object(writer: httpx.AsyncClient, lxc_tree: Path) -> None:
    manifest = {
        "format": 1,
        "name": "from-json",
        "os": {"template": "debian-12-standard"},
        "packages": {"buckets": ["base"], "extra": ["nginx=1.22*"]},
        "scripts": ["10-setup.sh"],
        "inputs": [{"name": "db_password", "type": "password", "default": "hunter2-hunter2"}],
    }
    files = {"scripts/10-setup.sh": {"content": "#!/bin/sh\necho hi\n", "mode": "0755"}}
    response = await writer.post(API, json={"manifest": manifest, "files": files})
    assert response.status_code == 201, response.text
    detail = response.json()
    assert detail["packages"][-1] == {"name": "nginx", "spec": "nginx=1.22*", "sources": ["extra"]}
    # Secret defaults never leave the API in clear.
    assert detail["inputs"][0]["default"] == "********"
    assert "hunter2" not in response.text
    revision = await writer.get(f"{API}/from-json/revisions/1")
    assert "hunter2" not in revision.text
    written = (lxc_tree / "templates" / "from-json" / "template.yaml").read_text()
    assert "name: from-json" in written and "hunter2-hunter2" in written  # the folder is the template


async def test_a_masked_secret_default_sent_back_keeps_the_stored_secret(
    writer: httpx.AsyncClient, lxc_tree: Path
) -> None:
    manifest = {
        "format": 1,
        "name": "masked",
        "os": {"template": "debian-12-standard"},
        "inputs": [{"name": "db_password", "type": "password", "default": "hunter2-hunter2"}],
    }
    created = await writer.post(API, json={"manifest": manifest})
    assert created.status_code == 201, created.text
    detail = created.json()
    # What an editor sends back after reading the detail: the masked default, plus a real change.
    edited = {**manifest, "description": "edited", "inputs": detail["inputs"]}
    response = await writer.put(f"{API}/masked", json={"manifest": edited}, headers={"If-Match": detail["etag"]})
    assert response.status_code == 200, response.text
    assert response.json()["description"] == "edited"
    written = (lxc_tree / "templates" / "masked" / "template.yaml").read_text()
    assert "hunter2-hunter2" in written and "********" not in written

    # A mask where no secret is stored is refused on the field, never saved as the value.
    renamed = [{**detail["inputs"][0], "name": "other_password"}]
    etag = response.json()["etag"]
    refused = await writer.put(
        f"{API}/masked", json={"manifest": {**manifest, "inputs": renamed}}, headers={"If-Match": etag}
    )
    payload = assert_error_shape(refused, 422, "invalid_template")
    assert any(field["loc"][-1] == "default" or "inputs.0.default" in str(field["loc"]) for field in payload["fields"])
    assert "********" not in (lxc_tree / "templates" / "masked" / "template.yaml").read_text()


async def test_update_needs_if_match_and_stale_edits_get_412(
    app: FastAPI, writer: httpx.AsyncClient, lxc_tree: Path
) -> None:
    detail = (await writer.get(f"{API}/minimal")).json()
    body = body_from_folder(lxc_tree / "templates" / "minimal", message="bigger")
    body["manifest_yaml"] = body["manifest_yaml"].replace("cores: 1", "cores: 2")

    assert_error_shape(await writer.put(f"{API}/minimal", json=body), 428, "precondition_required")
    response = await writer.put(f"{API}/minimal", json=body, headers={"If-Match": detail["etag"]})
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["current_revision"] == 2 and updated["revision_message"] == "bigger"
    assert updated["config"]["container"]["cores"] == 2 and response.headers["etag"] != detail["etag"]
    assert "cores: 2" in (lxc_tree / "templates" / "minimal" / "template.yaml").read_text()
    assert not (await sync_report(app)).changed

    stale = await writer.put(f"{API}/minimal", json=body, headers={"If-Match": detail["etag"]})
    payload = assert_error_shape(stale, 412, "precondition_failed")
    assert "revision 2" in payload["detail"] and stale.headers["etag"] == updated["etag"]

    renamed = body_from_folder(lxc_tree / "templates" / "minimal", name="other")
    response = await writer.put(f"{API}/minimal", json=renamed, headers={"If-Match": updated["etag"]})
    assert_error_shape(response, 422, "invalid_template")


async def test_concurrent_edits_exactly_one_wins(writer: httpx.AsyncClient, lxc_tree: Path) -> None:
    etag = (await writer.get(f"{API}/minimal")).json()["etag"]
    bodies = []
    for cores in (2, 3, 4, 5):
        body = body_from_folder(lxc_tree / "templates" / "minimal")
        body["manifest_yaml"] = body["manifest_yaml"].replace("cores: 1", f"cores: {cores}")
        bodies.append(body)
    responses = await asyncio.gather(
        *(writer.put(f"{API}/minimal", json=body, headers={"If-Match": etag}) for body in bodies)
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 412, 412, 412], [r.text for r in responses]
    winner = next(r for r in responses if r.status_code == 200).json()
    detail = (await writer.get(f"{API}/minimal")).json()
    assert detail["current_revision"] == 2
    assert detail["config"]["container"]["cores"] == winner["config"]["container"]["cores"]
    on_disk = (lxc_tree / "templates" / "minimal" / "template.yaml").read_text()
    assert f"cores: {winner['config']['container']['cores']}" in on_disk
    assert (await writer.get(f"{API}/minimal/revisions")).json()["total"] == 2


async def test_revisions_and_diff(writer: httpx.AsyncClient, lxc_tree: Path) -> None:
    etag = (await writer.get(f"{API}/minimal")).json()["etag"]
    body = body_from_folder(lxc_tree / "templates" / "minimal")
    body["files"]["scripts/10-web.sh"]["content"] += "echo second revision\n"
    body["files"]["files/extra.conf"] = {"content": "key=value\n"}
    del body["files"]["hooks/wait-network.sh"]
    body["manifest_yaml"] = body["manifest_yaml"].replace("hooks:\n  post-start:\n    - wait-network.sh\n", "")
    response = await writer.put(f"{API}/minimal", json=body, headers={"If-Match": etag})
    assert response.status_code == 200, response.text

    history = (await writer.get(f"{API}/minimal/revisions")).json()
    assert [r["number"] for r in history["items"]] == [2, 1]
    assert history["items"][1]["author"] == "sync" and history["items"][0]["author"] == "op"
    first = (await writer.get(f"{API}/minimal/revisions/1")).json()
    assert "hooks/wait-network.sh" in {f["path"] for f in first["files"]}

    diff = (await writer.get(f"{API}/minimal/diff", params={"from": 1, "to": 2})).json()
    by_path = {f["path"]: f for f in diff["files"]}
    assert by_path["scripts/10-web.sh"]["status"] == "modified"
    assert "+echo second revision" in by_path["scripts/10-web.sh"]["diff"]
    assert by_path["files/extra.conf"]["status"] == "added"
    assert by_path["hooks/wait-network.sh"]["status"] == "removed"
    assert "-    - wait-network.sh" in by_path["template.yaml"]["diff"]
    assert "files/index.html" not in by_path  # unchanged files are left out
    assert_error_shape(await writer.get(f"{API}/minimal/diff", params={"from": 1, "to": 7}), 404)


async def test_clone_and_delete(app: FastAPI, writer: httpx.AsyncClient, lxc_tree: Path) -> None:
    response = await writer.post(f"{API}/minimal/clone", json={"name": "minimal-copy"})
    assert response.status_code == 201, response.text
    clone = response.json()
    assert clone["origin"] == "dashboard" and clone["revision_message"] == "cloned from minimal revision 1"
    assert (lxc_tree / "templates" / "minimal-copy" / "scripts" / "10-web.sh").exists()
    assert_error_shape(await writer.post(f"{API}/minimal/clone", json={"name": "minimal"}), 409)
    assert_error_shape(await writer.post(f"{API}/minimal/clone", json={"name": "Bad Name"}), 422)

    assert_error_shape(await writer.delete(f"{API}/minimal-copy"), 428)
    assert_error_shape(await writer.delete(f"{API}/minimal-copy", headers={"If-Match": '"9-x"'}), 412)
    response = await writer.delete(f"{API}/minimal-copy", headers={"If-Match": clone["etag"]})
    assert response.status_code == 204
    assert not (lxc_tree / "templates" / "minimal-copy").exists()
    assert "minimal-copy" not in [t["name"] for t in (await writer.get(API)).json()["items"]]
    archived = (await writer.get(API, params={"status": "archived"})).json()["items"]
    assert [t["name"] for t in archived] == ["minimal-copy"]
    assert (await writer.get(f"{API}/minimal-copy/revisions/1")).status_code == 200  # deployments keep it
    assert not (await sync_report(app)).changed

    # The name can be used again: the archived template comes back with its history.
    response = await writer.post(f"{API}/minimal/clone", json={"name": "minimal-copy"})
    assert response.status_code == 201 and response.json()["current_revision"] == 2


async def test_read_only_folder_answers_409_and_creates_db_only(
    app: FastAPI, writer: httpx.AsyncClient, lxc_tree: Path
) -> None:
    app.state.lxcm.settings.templates_read_only = True
    detail = (await writer.get(f"{API}/minimal")).json()
    assert detail["writable"] is False
    body = body_from_folder(lxc_tree / "templates" / "minimal")
    payload = assert_error_shape(
        await writer.put(f"{API}/minimal", json=body, headers={"If-Match": detail["etag"]}), 409, "templates_read_only"
    )
    assert "not writable" in payload["detail"]
    assert_error_shape(await writer.delete(f"{API}/minimal", headers={"If-Match": detail["etag"]}), 409)

    created = (await create_copy(writer, lxc_tree, "db-only")).json()
    assert created["folder"] is None and not (lxc_tree / "templates" / "db-only").exists()
    report = await sync_report(app)
    assert "db-only" not in report.archived  # DB-only templates are not the folder's to archive
    response = await writer.delete(f"{API}/db-only", headers={"If-Match": created["etag"]})
    assert response.status_code == 204


@pytest.mark.parametrize("header", ["*", "", '"1-0000000000000000"'])
async def test_if_match_must_name_the_current_revision(writer: httpx.AsyncClient, header: str) -> None:
    response = await writer.delete(f"{API}/minimal", headers={"If-Match": header})
    assert response.status_code in (412, 428)


async def test_file_and_folder_with_the_same_path_is_422(writer: httpx.AsyncClient, lxc_tree: Path) -> None:
    body = body_from_folder(lxc_tree / "templates" / "minimal", name="clash")
    body["files"]["files/conf"] = {"content": "x"}
    body["files"]["files/conf/inner"] = {"content": "y"}
    payload = assert_error_shape(await writer.post(API, json=body), 422, "invalid_template")
    assert "both a file and a folder" in payload["detail"]


async def test_a_failing_disk_write_is_503_and_saves_nothing(
    writer: httpx.AsyncClient, lxc_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    detail = (await writer.get(f"{API}/minimal")).json()
    before = (lxc_tree / "templates" / "minimal" / "template.yaml").read_text()
    body = body_from_folder(lxc_tree / "templates" / "minimal")
    body["manifest_yaml"] = body["manifest_yaml"].replace("cores: 1", "cores: 3")

    def disk_full(fd: int) -> None:  # fault injection at the OS boundary: the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    response = await writer.put(f"{API}/minimal", json=body, headers={"If-Match": detail["etag"]})
    monkeypatch.undo()
    payload = assert_error_shape(response, 503, "templates_write_failed")
    assert "No space left" in payload["detail"]
    after = (await writer.get(f"{API}/minimal")).json()
    assert after["current_revision"] == 1 and after["etag"] == detail["etag"]  # the DB rolled back
    assert (lxc_tree / "templates" / "minimal" / "template.yaml").read_text() == before
    assert not [p for p in (lxc_tree / "templates").iterdir() if p.name.startswith(".")]


async def test_a_db_only_template_moves_into_the_folder_once_writable(
    app: FastAPI, writer: httpx.AsyncClient, lxc_tree: Path
) -> None:
    settings = app.state.lxcm.settings
    settings.templates_read_only = True
    created = (await create_copy(writer, lxc_tree, "later")).json()
    assert created["folder"] is None
    settings.templates_read_only = False
    body = body_from_folder(lxc_tree / "templates" / "minimal", name="later")
    response = await writer.put(f"{API}/later", json=body, headers={"If-Match": created["etag"]})
    assert response.status_code == 200, response.text
    assert response.json()["folder"] == "later" and response.json()["current_revision"] == 2
    assert (lxc_tree / "templates" / "later" / "template.yaml").exists()
    assert "later" in (await sync_report(app)).unchanged


async def test_concurrent_creates_of_one_name_exactly_one_wins(writer: httpx.AsyncClient, lxc_tree: Path) -> None:
    body = body_from_folder(lxc_tree / "templates" / "minimal", name="racer")
    responses = await asyncio.gather(*(writer.post(API, json=body) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409], [r.text for r in responses]
    assert all(r.json()["error"] == "template_exists" for r in responses if r.status_code == 409)
    buckets = await asyncio.gather(
        *(writer.post("/api/v1/buckets", json={"name": "race", "packages": ["curl"]}) for _ in range(3))
    )
    assert sorted(r.status_code for r in buckets) == [201, 409, 409]
