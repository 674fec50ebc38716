"""Shared set-up of the real-LXC tests: skip (or fail under CI=true) unless root, LXC and the rootfs are there."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def lxc_unavailable(reason: str) -> None:
    message = f"real LXC backend unavailable: {reason}"
    if CI:
        pytest.fail(f"CI=true requires the lxc lane: {message}", pytrace=False)
    pytest.skip(message)


def prepare_lxc_host() -> Path:
    """Root + lxc + the cached rootfs; the script installs lxc and builds the tarball when missing (~1 min)."""
    if os.geteuid() != 0:
        lxc_unavailable("tests must run as root (lxc-start, debootstrap)")
    if shutil.which("apt-get") is None and shutil.which("lxc-start") is None:
        lxc_unavailable("no lxc and no apt-get to install it")
    script = ROOT / "scripts" / "build-lxc-rootfs.sh"
    proc = subprocess.run([str(script)], capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0:
        lxc_unavailable(f"{script.name} failed (no Debian mirror?): {proc.stderr.strip()[-600:]}")
    tarball = Path(proc.stdout.strip().splitlines()[-1])
    assert tarball.is_file(), tarball
    return tarball


def searchable_state_dir(prefix: str) -> Path:
    """Not under pytest's 0700 tmp tree: an unprivileged CT's root (host uid 100000) must reach its files."""
    state_dir = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    state_dir.chmod(0o711)
    return state_dir
