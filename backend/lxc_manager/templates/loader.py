"""Read template folders and bucket files safely and validate them into :mod:`format` models.

Reading is split from parsing so an unchanged template costs only its file reads and a hash: the
content hash is computed from raw bytes, and the YAML is parsed only when the hash differs from the DB.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lxc_manager.templates.format import (
    HOST_HOOK_EVENTS,
    SCRIPT_NAME_PATTERN,
    SLUG_PATTERN,
    BucketManifest,
    HookEvent,
    TemplateManifest,
)
from lxc_manager.templates.yamlsafe import YAMLProblem, field_path, load_yaml, locate

MANIFEST = "template.yaml"
README = "README.md"
CONTENT_DIRS = ("scripts", "files", "hooks")
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_TEMPLATE_BYTES = 16 * 1024 * 1024
MAX_FILES = 1000
MAX_PATH_LENGTH = 500

_SLUG = re.compile(SLUG_PATTERN)
_SCRIPT_NAME = re.compile(SCRIPT_NAME_PATTERN)


@dataclass(frozen=True)
class Problem:
    """One precise reason a template or bucket was refused."""

    file: str
    message: str
    line: int | None = None
    column: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column}"
        what = f" [{self.field}]" if self.field else ""
        return f"{where}{what}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "message": self.message,
        }


class InvalidTemplate(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems[:5]))


@dataclass(frozen=True)
class RawFile:
    data: bytes
    mode: int  # permission bits

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class RawTemplate:
    """The bytes of one template folder: ``{relative POSIX path: RawFile}`` including ``template.yaml``."""

    name: str
    files: dict[str, RawFile]
    content_hash: str = ""

    def __post_init__(self) -> None:
        if not self.content_hash:
            self.content_hash = content_hash(self.files)


@dataclass
class ParsedTemplate:
    name: str
    manifest: TemplateManifest
    files: dict[str, RawFile]
    content_hash: str
    script_order: list[str] = field(default_factory=list)


def content_hash(files: Mapping[str, RawFile]) -> str:
    """sha256 over the sorted (path, content sha256) pairs; modes are not hashed (checkouts vary umask)."""
    digest = hashlib.sha256(b"lxcm-template-v1\n")
    for path in sorted(files):
        digest.update(path.encode("utf-8", "surrogateescape") + b"\0" + files[path].sha256.encode() + b"\n")
    return digest.hexdigest()


def encode_files(files: Mapping[str, RawFile]) -> dict[str, dict[str, Any]]:
    """The JSON form stored in a revision: text as UTF-8, anything else base64."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(files):
        raw = files[path]
        try:
            content, encoding = raw.data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            content, encoding = base64.b64encode(raw.data).decode("ascii"), "base64"
        out[path] = {
            "content": content,
            "encoding": encoding,
            "sha256": raw.sha256,
            "mode": f"{raw.mode:04o}",
            "size": len(raw.data),
        }
    return out


def decode_files(stored: Mapping[str, Mapping[str, Any]]) -> dict[str, RawFile]:
    out: dict[str, RawFile] = {}
    for path, entry in stored.items():
        content = str(entry["content"])
        data = base64.b64decode(content) if entry.get("encoding") == "base64" else content.encode("utf-8")
        out[path] = RawFile(data=data, mode=int(str(entry.get("mode", "0644")), 8))
    return out


# ---------------------------------------------------------------- reading folders


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def _read_regular(path: str) -> tuple[bytes, int, int] | str:
    """(data, permission bits, size) of a regular file opened without following links, or why not."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return "symlink loop" if exc.errno == errno.ELOOP else f"cannot read: {exc.strerror}"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return "not a regular file"
        if st.st_size > MAX_FILE_BYTES:
            return f"file larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"
        chunks = []
        remaining = MAX_FILE_BYTES + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
        if len(data) > MAX_FILE_BYTES:
            return f"file larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"
        return data, stat.S_IMODE(st.st_mode), len(data)
    except OSError as exc:
        return f"cannot read: {exc.strerror}"
    finally:
        os.close(fd)


def read_template_dir(folder: Path, *, label: str | None = None, within: Path | None = None) -> RawTemplate:
    """Read a template folder, refusing symlinks that leave it, special files and oversized content.

    Plain string paths and ``os`` calls on purpose: this runs for every template on every sync.
    """
    label = label or folder.name
    base = os.fspath(folder)
    if within is not None and folder.is_symlink():
        root = os.path.realpath(within)
        if os.path.commonpath([root, os.path.realpath(base)]) != root:
            raise InvalidTemplate(
                [Problem(label, "the template folder is a symlink pointing outside the templates folder")]
            )
    problems: list[Problem] = []
    files: dict[str, RawFile] = {}
    total = 0
    real_root: str | None = None

    def add(rel: str, path: str, is_link: bool) -> None:
        nonlocal total, real_root
        display = f"{label}/{rel}"
        if len(rel) > MAX_PATH_LENGTH:
            problems.append(Problem(display, "path too long"))
            return
        if is_link:
            # Links are resolved only when met (rare): they may point inside the folder, never outside.
            if real_root is None:
                real_root = os.path.realpath(base)
            target = os.path.realpath(path)
            if os.path.commonpath([real_root, target]) != real_root:
                problems.append(Problem(display, "symlink points outside the template folder"))
                return
            if os.path.isdir(target):
                problems.append(Problem(display, "symlinked folders are not allowed"))
                return
            path = target
        result = _read_regular(path)
        if isinstance(result, str):
            problems.append(Problem(display, result))
            return
        data, mode, size = result
        total += size
        if total > MAX_TEMPLATE_BYTES or len(files) >= MAX_FILES:
            problems.append(Problem(display, "template too large (size or file count limit)"))
            return
        files[rel] = RawFile(data=data, mode=mode)

    def walk(directory: str, prefix: str, depth: int) -> None:
        if depth > 8:
            problems.append(Problem(f"{label}/{prefix}", "folders nested too deep"))
            return
        try:
            with os.scandir(directory) as iterator:
                entries = sorted(iterator, key=lambda e: e.name)
        except OSError as exc:
            problems.append(Problem(f"{label}/{prefix}", f"cannot list: {exc.strerror}"))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue  # .gitkeep, editor swap files, our own temp folders
            rel = f"{prefix}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                walk(entry.path, rel + "/", depth + 1)
            else:
                add(rel, entry.path, entry.is_symlink())

    try:
        with os.scandir(base) as iterator:
            top = {entry.name: entry for entry in iterator}
    except OSError as exc:
        raise InvalidTemplate([Problem(label, f"cannot read folder: {exc.strerror}")]) from None
    if MANIFEST not in top:
        raise InvalidTemplate([Problem(f"{label}/{MANIFEST}", "missing template.yaml")])
    for name in (MANIFEST, README):
        if name in top:
            add(name, top[name].path, top[name].is_symlink())
    for sub in CONTENT_DIRS:
        entry = top.get(sub)
        if entry is None:
            continue
        if entry.is_symlink():
            problems.append(Problem(f"{label}/{sub}", "symlinked folders are not allowed"))
        elif entry.is_dir(follow_symlinks=False):
            walk(entry.path, sub + "/", 1)
    if problems:
        raise InvalidTemplate(problems)
    return RawTemplate(name=folder.name, files=files)


def list_template_dirs(root: Path) -> list[Path]:
    """Every candidate template folder under ``root`` (hidden entries skipped), sorted by name."""
    if not root.is_dir():
        return []
    out: list[Path] = []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if path.is_dir():  # a linked folder is listed; read_template_dir(within=) refuses one leading outside
            out.append(path)
    return out


# ---------------------------------------------------------------- parsing


def _validation_problems(file: str, exc: ValidationError, positions: dict[Any, tuple[int, int]]) -> list[Problem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(error.get("loc", ()))
        found, size = locate(positions, loc)
        path_parts = loc[:size]
        if error.get("type") == "missing" and size < len(loc):
            path_parts = loc[: size + 1]
        message = str(error.get("msg", "invalid value"))
        problems.append(
            Problem(
                file=file,
                message=message.removeprefix("Value error, "),
                line=found[0] if found else None,
                column=found[1] if found else None,
                field=field_path(path_parts) or None,
            )
        )
    return problems


def parse_manifest_text(text: str | bytes, *, file: str = MANIFEST) -> tuple[TemplateManifest, dict[Any, Any]]:
    """Parse and validate a ``template.yaml``; raises :class:`InvalidTemplate` and nothing else."""
    try:
        data, positions = load_yaml(text)
    except YAMLProblem as exc:
        raise InvalidTemplate([Problem(file, exc.message, exc.line, exc.column)]) from None
    if not isinstance(data, dict):
        raise InvalidTemplate([Problem(file, "the manifest must be a mapping", 1, 1)])
    try:
        return TemplateManifest.model_validate(data), positions
    except ValidationError as exc:
        raise InvalidTemplate(_validation_problems(file, exc, positions)) from None
    except (RecursionError, ValueError, TypeError) as exc:  # defensive: validators on hostile input
        raise InvalidTemplate([Problem(file, f"invalid manifest: {exc}"[:300])]) from None


def _at(positions: Mapping[Any, tuple[int, int]], *loc: str | int) -> tuple[int | None, int | None]:
    found, _ = locate(dict(positions), tuple(loc))
    return (found[0], found[1]) if found else (None, None)


def script_order(manifest: TemplateManifest, files: Iterable[str]) -> list[str]:
    """The scripts to run, in order: the manifest's list, or every top-level file of scripts/ by name."""
    if manifest.scripts is not None:
        return list(manifest.scripts)
    return sorted(p.removeprefix("scripts/") for p in files if p.startswith("scripts/") and p.count("/") == 1)


def parse_template(
    raw: RawTemplate, *, label: str | None = None, known_buckets: set[str] | None = None
) -> ParsedTemplate:
    """Validate a read folder: manifest schema, name = folder, every referenced file present."""
    label = label or raw.name
    file = f"{label}/{MANIFEST}"
    if MANIFEST not in raw.files:
        raise InvalidTemplate([Problem(file, "missing template.yaml")])
    manifest, positions = parse_manifest_text(raw.files[MANIFEST].data, file=file)
    problems: list[Problem] = []

    def problem(message: str, *loc: str | int) -> None:
        line, column = _at(positions, *loc)
        problems.append(Problem(file, message, line, column, field_path(loc) or None))

    if _SLUG.fullmatch(raw.name) is None:
        problem(f"folder name {raw.name!r} is not a valid template name (lowercase letters, digits, '-')")
    elif manifest.name != raw.name:
        problem(f"name {manifest.name!r} must equal the folder name {raw.name!r}", "name")
    order = script_order(manifest, raw.files)
    for index, script in enumerate(order):
        if f"scripts/{script}" not in raw.files:
            problem(f"script not found: scripts/{script}", "scripts", index)
        elif manifest.scripts is None and _SCRIPT_NAME.fullmatch(script) is None:
            problems.append(Problem(f"{label}/scripts/{script}", "script file name has unsupported characters"))
    for event, names in manifest.hooks.by_event().items():
        for index, hook in enumerate(names):
            if f"hooks/{hook}" not in raw.files:
                problem(f"hook not found: hooks/{hook}", "hooks", event.value, index)
    for index, spec in enumerate(manifest.files):
        if f"files/{spec.source}" not in raw.files:
            problem(f"file not found: files/{spec.source}", "files", index, "source")
    if known_buckets is not None:
        for index, bucket in enumerate(manifest.packages.buckets):
            if bucket not in known_buckets:
                problem(f"unknown bucket {bucket!r}", "packages", "buckets", index)
    if problems:
        raise InvalidTemplate(problems)
    return ParsedTemplate(
        name=raw.name, manifest=manifest, files=raw.files, content_hash=raw.content_hash, script_order=order
    )


def hook_target(event: HookEvent) -> str:
    return "host" if event in HOST_HOOK_EVENTS else "container"


# ---------------------------------------------------------------- buckets


@dataclass
class ParsedBucket:
    manifest: BucketManifest
    content_hash: str
    path: Path | None = None


def parse_bucket_text(text: str | bytes, *, file: str, expected_name: str | None = None) -> BucketManifest:
    try:
        data, positions = load_yaml(text)
    except YAMLProblem as exc:
        raise InvalidTemplate([Problem(file, exc.message, exc.line, exc.column)]) from None
    if not isinstance(data, dict):
        raise InvalidTemplate([Problem(file, "a bucket must be a mapping", 1, 1)])
    try:
        bucket = BucketManifest.model_validate(data)
    except ValidationError as exc:
        raise InvalidTemplate(_validation_problems(file, exc, positions)) from None
    except (RecursionError, ValueError, TypeError) as exc:
        raise InvalidTemplate([Problem(file, f"invalid bucket: {exc}"[:300])]) from None
    if expected_name is not None and bucket.name != expected_name:
        line, column = _at(positions, "name")
        raise InvalidTemplate(
            [Problem(file, f"name {bucket.name!r} must equal the file name {expected_name!r}", line, column, "name")]
        )
    return bucket


def read_buckets_dir(root: Path) -> tuple[dict[str, ParsedBucket], list[Problem]]:
    """Every ``<name>.yaml`` under ``root``; broken files are reported and skipped."""
    buckets: dict[str, ParsedBucket] = {}
    problems: list[Problem] = []
    if not root.is_dir():
        return buckets, problems
    real_root = root.resolve()
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.name.startswith(".") or not entry.name.endswith((".yaml", ".yml")):
            continue
        label = f"buckets/{entry.name}"
        path = Path(entry.path)
        try:
            if entry.is_symlink() and not _inside(path.resolve(strict=True), real_root):
                problems.append(Problem(label, "symlink points outside the buckets folder"))
                continue
            if not path.is_file():
                problems.append(Problem(label, "not a regular file"))
                continue
            with open(path, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except (OSError, RuntimeError) as exc:
            problems.append(Problem(label, f"cannot read: {getattr(exc, 'strerror', None) or exc}"))
            continue
        stem = entry.name.rsplit(".", 1)[0]
        try:
            bucket = parse_bucket_text(data, file=label, expected_name=stem)
        except InvalidTemplate as exc:
            problems.extend(exc.problems)
            continue
        buckets[bucket.name] = ParsedBucket(bucket, hashlib.sha256(data).hexdigest(), path)
    return buckets, problems
