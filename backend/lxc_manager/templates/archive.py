"""tar.gz export (a folder the engine deploys as is) and a traversal-safe, size-bounded import."""

from __future__ import annotations

import io
import re
import tarfile
import time
from collections.abc import Mapping

from lxc_manager.templates.format import SLUG_PATTERN
from lxc_manager.templates.loader import MANIFEST, MAX_FILE_BYTES, MAX_FILES, MAX_TEMPLATE_BYTES, RawFile

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_MEMBERS = MAX_FILES + 100  # files plus their folders


class ArchiveError(ValueError):
    """The upload is not an acceptable template archive; the message says why."""


def export_tar_gz(name: str, files: Mapping[str, RawFile]) -> bytes:
    """``<name>/…`` with deterministic metadata (root-owned, stable mtime) so equal revisions give equal bytes."""
    buffer = io.BytesIO()
    mtime = int(time.time()) // 86400 * 86400
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT, compresslevel=6) as tar:
        folders: set[str] = set()
        for rel in sorted(files):
            parts = rel.split("/")
            for depth in range(len(parts)):
                folder = "/".join([name, *parts[:depth]])
                if folder not in folders:
                    info = tarfile.TarInfo(folder)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, mtime
                    tar.addfile(info)
                    folders.add(folder)
            raw = files[rel]
            info = tarfile.TarInfo(f"{name}/{rel}")
            info.size, info.mode, info.mtime = len(raw.data), raw.mode & 0o777, mtime
            tar.addfile(info, io.BytesIO(raw.data))
    return buffer.getvalue()


def _clean_member_path(member: tarfile.TarInfo) -> list[str]:
    name = member.name
    if "\x00" in name or "\\" in name:
        raise ArchiveError(f"unsafe member name {name!r}")
    if name.startswith("/"):
        raise ArchiveError(f"absolute path in archive: {name!r}")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if any(part == ".." for part in parts):
        raise ArchiveError(f"path leaves the archive: {name!r}")
    return parts


def read_tar_gz(data: bytes) -> tuple[str | None, dict[str, RawFile]]:
    """Unpack an uploaded template archive in memory.

    Accepts ``<name>/template.yaml …`` (one top folder) or ``template.yaml …`` at the root. Refuses absolute and
    ``..`` paths, links, devices and FIFOs, more than :data:`MAX_MEMBERS` members, files over
    :data:`MAX_FILE_BYTES` and more than :data:`MAX_TEMPLATE_BYTES` unpacked. Returns (top folder, files).
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise ArchiveError(f"archive larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
    entries: dict[tuple[str, ...], RawFile] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for count, member in enumerate(tar, start=1):
                if count > MAX_MEMBERS:
                    raise ArchiveError(f"more than {MAX_MEMBERS} entries in the archive")
                parts = _clean_member_path(member)
                if member.isdir():
                    continue
                if not member.isreg():
                    kind = "link" if member.issym() or member.islnk() else "special file"
                    raise ArchiveError(f"{kind} not allowed in a template archive: {member.name!r}")
                if member.size > MAX_FILE_BYTES:
                    raise ArchiveError(f"{member.name!r} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
                total += member.size
                if total > MAX_TEMPLATE_BYTES:
                    raise ArchiveError(f"archive unpacks to more than {MAX_TEMPLATE_BYTES // (1024 * 1024)} MiB")
                if not parts:
                    raise ArchiveError(f"empty member name {member.name!r}")
                handle = tar.extractfile(member)
                if handle is None:  # pragma: no cover - regular members always have data
                    raise ArchiveError(f"cannot read {member.name!r}")
                content = handle.read(MAX_FILE_BYTES + 1)
                if len(content) != member.size:
                    raise ArchiveError(f"truncated member {member.name!r}")
                key = tuple(parts)
                if key in entries:
                    raise ArchiveError(f"duplicate member {member.name!r}")
                entries[key] = RawFile(content, member.mode & 0o777)
    except ArchiveError:
        raise
    except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
        raise ArchiveError(f"not a valid tar.gz archive: {exc}") from None
    if not entries:
        raise ArchiveError("the archive is empty")
    top: str | None = None
    if (MANIFEST,) not in entries:
        tops = {key[0] for key in entries}
        if len(tops) != 1 or len(next(iter(entries))) < 2:
            raise ArchiveError("expected template.yaml at the root or inside a single top folder")
        top = tops.pop()
        if re.fullmatch(SLUG_PATTERN, top) is None:
            raise ArchiveError(f"top folder {top!r} is not a valid template name")
        if any(len(key) < 2 for key in entries):
            raise ArchiveError("files outside the top folder")
        entries = {key[1:]: value for key, value in entries.items()}
    files = {"/".join(key): value for key, value in entries.items()}
    if MANIFEST not in files:
        raise ArchiveError("the archive has no template.yaml")
    return top, files
