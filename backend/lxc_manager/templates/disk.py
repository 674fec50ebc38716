"""Write templates and buckets back to their folders atomically (the repository stays the source of truth).

A template folder is built complete in a hidden temp folder beside it (every file and folder fsynced), then
swapped in with two renames; discovery skips hidden entries, so a half-written folder is never read. A crash
between the renames leaves ``.<name>.old-*`` beside a missing folder: the old content, recoverable by hand.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import ParamSpec

from lxc_manager.core.config import REPO_ROOT, Environment, Settings
from lxc_manager.core.errors import Conflict, ServiceUnavailable
from lxc_manager.core.logging import get_logger
from lxc_manager.templates.loader import RawFile

REPO_LXC = REPO_ROOT / "infra" / "lxc"
P = ParamSpec("P")
log = get_logger(__name__)


def _dir_writable(path: Path) -> bool:
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    return probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)


def _protected(settings: Settings, path: Path) -> bool:
    """Test runs never write into the repository's own infra/lxc (API fuzzers would litter it)."""
    if settings.environment != Environment.test:
        return False
    try:
        return path.resolve().is_relative_to(REPO_LXC.resolve())
    except OSError:
        return True


def templates_writable(settings: Settings) -> bool:
    return (
        not settings.templates_read_only
        and not _protected(settings, settings.templates_dir)
        and _dir_writable(settings.templates_dir)
    )


def buckets_writable(settings: Settings) -> bool:
    path = settings.effective_buckets_dir
    return not settings.templates_read_only and not _protected(settings, path) and _dir_writable(path)


def require_templates_writable(settings: Settings, what: str) -> None:
    if not templates_writable(settings):
        raise Conflict(
            f"{what}: the templates folder {settings.templates_dir} is not writable by the dashboard "
            "(read-only checkout or LXCM_TEMPLATES_READ_ONLY); change it in the repository instead",
            code="templates_read_only",
        )


def require_buckets_writable(settings: Settings, what: str) -> None:
    if not buckets_writable(settings):
        raise Conflict(
            f"{what}: the buckets folder {settings.effective_buckets_dir} is not writable by the dashboard; "
            "change it in the repository instead",
            code="templates_read_only",
        )


async def run(operation: Callable[P, None], *args: P.args, **kwargs: P.kwargs) -> None:
    """Run a blocking disk operation in a thread; an OS failure is a 503 (the request rolls back), not a 500."""
    try:
        await asyncio.to_thread(operation, *args, **kwargs)
    except OSError as exc:
        log.error("template_write_failed", error=f"{type(exc).__name__}: {exc}"[:300])
        raise ServiceUnavailable(
            f"could not write to the templates folder: {exc.strerror or exc}; nothing was saved",
            code="templates_write_failed",
        ) from None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fchmod(fd, mode & 0o777)
        os.fsync(fd)
    finally:
        os.close(fd)


def write_template_folder(root: Path, name: str, files: Mapping[str, RawFile]) -> None:
    """Replace ``root/name`` with exactly ``files`` (paths already validated as relative and inside)."""
    root.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    staging = root / f".{name}.tmp-{token}"
    staging.mkdir(mode=0o755)
    try:
        made: set[Path] = {staging}
        for rel in sorted(files):
            target = staging.joinpath(*rel.split("/"))
            for parent in reversed(target.relative_to(staging).parents[:-1]):
                folder = staging / parent
                if folder not in made:
                    folder.mkdir(mode=0o755)
                    made.add(folder)
            _write_file(target, files[rel].data, files[rel].mode)
        for folder in sorted(made, key=lambda p: len(p.parts), reverse=True):
            _fsync_dir(folder)
        final = root / name
        if final.exists() or final.is_symlink():
            retired = root / f".{name}.old-{token}"
            os.rename(final, retired)
            os.rename(staging, final)
            _fsync_dir(root)
            if retired.is_symlink():
                retired.unlink()
            else:
                shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(staging, final)
            _fsync_dir(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def remove_template_folder(root: Path, name: str) -> None:
    final = root / name
    if not final.exists() and not final.is_symlink():
        return
    retired = root / f".{name}.deleted-{uuid.uuid4().hex[:12]}"
    os.rename(final, retired)  # atomic disappearance for discovery; the slow delete happens after
    _fsync_dir(root)
    if retired.is_symlink():
        retired.unlink()
    else:
        shutil.rmtree(retired, ignore_errors=True)


def write_bucket_file(root: Path, file_name: str, text: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".{file_name}.tmp-{uuid.uuid4().hex[:12]}"
    try:
        _write_file(staging, text.encode("utf-8"), 0o644)
        os.replace(staging, root / file_name)
        _fsync_dir(root)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


def remove_bucket_file(root: Path, file_name: str) -> None:
    path = root / file_name
    if path.exists() or path.is_symlink():
        path.unlink()
        _fsync_dir(root)


def folder_exists(root: Path, name: str) -> bool:
    path = root / name
    return path.exists() or path.is_symlink()
