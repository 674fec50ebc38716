"""Export as tar.gz and traversal-safe, size-bounded import."""

from __future__ import annotations

import contextlib
import gzip
import io
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lxc_manager.templates.archive import MAX_UPLOAD_BYTES, ArchiveError, read_tar_gz

from .test_api import API, assert_error_shape


def tar_gz(members: Sequence[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return buffer.getvalue()


def regular(name: str, data: bytes, mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.mode = mode
    return info, data


def manifest(name: str) -> bytes:
    return f"format: 1\nname: {name}\nos:\n  template: debian-12-standard\n".encode()


async def upload(writer: httpx.AsyncClient, data: bytes, *, raw: bool = False) -> httpx.Response:
    if raw:
        return await writer.post(f"{API}/import", content=data, headers={"Content-Type": "application/gzip"})
    return await writer.post(f"{API}/import", files={"file": ("t.tar.gz", data, "application/gzip")})


async def test_export_then_import_round_trip(writer: httpx.AsyncClient, lxc_tree: Path) -> None:
    response = await writer.get(f"{API}/minimal/export")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/gzip"
    assert 'filename="minimal-r1.tar.gz"' in response.headers["content-disposition"]
    with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as tar:
        names = set(tar.getnames())
        script = tar.getmember("minimal/scripts/10-web.sh")
        assert script.mode == 0o755 and script.uid == 0
    assert {"minimal/template.yaml", "minimal/files/index.html", "minimal/hooks/wait-network.sh"} <= names
    # The export is byte-for-byte what the folder holds: the engine can deploy it.
    with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as tar:
        exported = tar.extractfile("minimal/template.yaml")
        assert exported is not None
        assert exported.read() == (lxc_tree / "templates" / "minimal" / "template.yaml").read_bytes()

    # Import it back under another name (the archive's top folder must equal the manifest name).
    renamed = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as source,
        tarfile.open(fileobj=renamed, mode="w:gz") as target,
    ):
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            if member.name.endswith("template.yaml") and data is not None:
                data = data.replace(b"name: minimal", b"name: imported-one")
                member.size = len(data)
            member.name = member.name.replace("minimal", "imported-one", 1)
            target.addfile(member, io.BytesIO(data) if data is not None else None)
    response = await upload(writer, renamed.getvalue())
    assert response.status_code == 201, response.text
    detail = response.json()
    assert (detail["name"], detail["origin"]) == ("imported-one", "imported")
    assert (lxc_tree / "templates" / "imported-one" / "scripts" / "10-web.sh").exists()
    assert_error_shape(await upload(writer, renamed.getvalue()), 409, "template_exists")


async def test_import_raw_body_with_manifest_at_the_root(writer: httpx.AsyncClient) -> None:
    data = tar_gz([regular("template.yaml", manifest("rooted")), regular("scripts/10-a.sh", b"true\n", 0o755)])
    response = await upload(writer, data, raw=True)
    assert response.status_code == 201, response.text
    assert [s["name"] for s in response.json()["scripts"]] == ["10-a.sh"]


def _symlink(name: str, target: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info, None


def _hardlink(name: str, target: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.LNKTYPE, target
    return info, None


def _device(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
    return info, None


@pytest.mark.parametrize(
    "members,needle",
    [
        ([regular("evil/template.yaml", manifest("evil")), regular("evil/../../escape.sh", b"x")], "leaves"),
        ([regular("/etc/cron.d/evil", b"x"), regular("template.yaml", manifest("evil"))], "absolute"),
        ([regular("template.yaml", manifest("evil")), _symlink("files/passwd", "/etc/passwd")], "link"),
        ([regular("template.yaml", manifest("evil")), _hardlink("files/passwd", "/etc/passwd")], "link"),
        ([regular("template.yaml", manifest("evil")), _device("files/null")], "special"),
        ([regular("scripts/10-a.sh", b"true")], "template.yaml"),
        ([regular("a/template.yaml", manifest("a")), regular("b/x", b"x")], "template.yaml"),
        ([regular("template.yaml", manifest("evil")), regular("template.yaml", manifest("evil"))], "duplicate"),
    ],
)
async def test_import_attacks_are_refused(
    writer: httpx.AsyncClient, lxc_tree: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], needle: str
) -> None:
    payload = assert_error_shape(await upload(writer, tar_gz(members)), 400, "invalid_archive")
    assert needle in payload["detail"]
    assert not (lxc_tree / "escape.sh").exists() and not (lxc_tree / "templates" / "evil").exists()


async def test_import_refuses_paths_outside_the_template_layout(writer: httpx.AsyncClient) -> None:
    data = tar_gz([regular("template.yaml", manifest("odd")), regular("etc/cron.d/job", b"x")])
    assert_error_shape(await upload(writer, data), 422, "invalid_template")
    data = tar_gz([regular("wrong/template.yaml", manifest("right"))])
    assert_error_shape(await upload(writer, data), 422, "invalid_template")


async def test_import_size_limits(writer: httpx.AsyncClient) -> None:
    # A size bomb: a header claiming 3 GiB is refused before anything is read.
    head, body = regular("template.yaml", manifest("bomb"))
    head.size = len(body)
    bomb = tarfile.TarInfo("files/huge")
    bomb.size = 3 * 1024**3
    stream = head.tobuf() + body + b"\0" * (-len(body) % 512) + bomb.tobuf() + b"\0" * 4096
    payload = assert_error_shape(await upload(writer, gzip.compress(stream)), 400, "invalid_archive")
    assert "larger than 2 MiB" in payload["detail"]

    # Highly compressible content that unpacks beyond the total limit.
    zeros = b"\0" * (3 * 1024 * 1024 - 1)
    members = [regular("template.yaml", manifest("zeros"))] + [regular(f"files/z{i}", zeros) for i in range(6)]
    payload = assert_error_shape(await upload(writer, tar_gz(members)), 400, "invalid_archive")
    assert "larger than" in payload["detail"] or "unpacks" in payload["detail"]

    many = [regular("template.yaml", manifest("many"))] + [regular(f"files/f{i}", b"") for i in range(1200)]
    assert "entries" in assert_error_shape(await upload(writer, tar_gz(many)), 400, "invalid_archive")["detail"]

    oversized = b"\x1f\x8b" + b"\0" * (MAX_UPLOAD_BYTES + 10)
    assert_error_shape(await upload(writer, oversized, raw=True), 413, "payload_too_large")
    assert_error_shape(await upload(writer, oversized), 413, "payload_too_large")
    assert_error_shape(await upload(writer, b"not a tarball"), 400, "invalid_archive")
    response = await writer.post(f"{API}/import", content=b"x", headers={"Content-Type": "text/plain"})
    assert_error_shape(response, 400, "unsupported_media_type")


async def test_streamed_uploads_without_length_are_cut_off(writer: httpx.AsyncClient) -> None:
    async def chunks() -> Any:
        for _ in range(10):
            yield b"\0" * (1024 * 1024)

    response = await writer.post(f"{API}/import", content=chunks(), headers={"Content-Type": "application/gzip"})
    assert_error_shape(response, 413, "payload_too_large")

    async def multipart() -> Any:
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="t.tar.gz"\r\n\r\n'
        for _ in range(10):
            yield b"\0" * (1024 * 1024)
        yield b"\r\n--b--\r\n"

    response = await writer.post(
        f"{API}/import", content=multipart(), headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert_error_shape(response, 413, "payload_too_large")


async def test_oversized_json_template_is_refused(writer: httpx.AsyncClient) -> None:
    async def body() -> Any:
        yield b'{"manifest_yaml": "'
        for _ in range(26):
            yield b"x" * (1024 * 1024)
        yield b'"}'

    response = await writer.post(API, content=body(), headers={"Content-Type": "application/json"})
    assert_error_shape(response, 413, "payload_too_large")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_fuzz_archive_reader_raises_only_archive_errors(data: bytes) -> None:
    for candidate in (data, gzip.compress(data)):
        with contextlib.suppress(ArchiveError):
            read_tar_gz(candidate)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.text(alphabet="ab./\\\0-_ ", min_size=1, max_size=20),
            st.sampled_from([tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE]),
        ),
        max_size=6,
    )
)
def test_fuzz_archive_members(members: list[tuple[str, bytes]]) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, kind in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = "../x" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
            tar.addfile(info, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
    try:
        _top, files = read_tar_gz(buffer.getvalue())
    except ArchiveError:
        return
    for path in files:
        assert not path.startswith("/") and ".." not in path.split("/")
