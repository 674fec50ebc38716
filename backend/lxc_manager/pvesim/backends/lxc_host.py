"""Host side of the lxc backend: the checks, the lxcbr0 bridge and the shared rootfs extracted from the cache."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

from lxc_manager.pvesim.backends.lxc_config import IDMAP_BASE, IDMAP_SIZE
from lxc_manager.pvesim.backends.lxc_process import LxcBackendError, run_command

DEFAULT_CACHE_DIR = Path("/var/cache/lxc-manager")
DEFAULT_TARBALL_NAME = "rootfs-bookworm.tar.zst"
LXC_NET = "/usr/libexec/lxc/lxc-net"
REQUIRED_TOOLS = ("lxc-start", "lxc-attach", "lxc-stop", "lxc-info", "lxc-freeze", "lxc-unfreeze", "tar", "zstd")
_HINT = "run scripts/build-lxc-rootfs.sh as root"


def default_base_root(rootfs_tarball: Path) -> Path:
    """Extracted bases live beside the tarball they come from, so every simulator and test run reuses them."""
    return rootfs_tarball.parent / "base"


def default_rootfs_tarball() -> Path:
    """``$LXCM_LXC_ROOTFS``, else the stable symlink that scripts/build-lxc-rootfs.sh maintains in the cache."""
    explicit = os.environ.get("LXCM_LXC_ROOTFS")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("LXCM_LXC_CACHE") or DEFAULT_CACHE_DIR) / DEFAULT_TARBALL_NAME


def subid_range_present(path: Path, owner: str = "root") -> bool:
    """Whether ``/etc/subuid``-style ``path`` grants ``owner`` the PVE range (needed by unprivileged CTs)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return False
    for line in lines:
        parts = line.strip().split(":")
        if len(parts) == 3 and parts[0] == owner and parts[1].isdigit() and parts[2].isdigit():
            start, count = int(parts[1]), int(parts[2])
            if start <= IDMAP_BASE and start + count >= IDMAP_BASE + IDMAP_SIZE:
                return True
    return False


class LxcHost:
    """Everything the containers share: tools, bridge, the read-only base rootfs."""

    def __init__(self, base_root: Path, rootfs_tarball: Path, bridge: str) -> None:
        self.base_root = base_root
        self.rootfs_tarball = rootfs_tarball
        self.bridge = bridge
        self._base_lock = asyncio.Lock()

    def check(self) -> None:
        if os.geteuid() != 0:
            raise LxcBackendError("the lxc backend must run as root")
        missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
        if missing:
            raise LxcBackendError(f"missing {', '.join(missing)}: {_HINT} (installs lxc, debootstrap, zstd)")
        if not self.rootfs_tarball.is_file():
            raise LxcBackendError(f"rootfs tarball {self.rootfs_tarball} missing: {_HINT}")

    @staticmethod
    def check_unprivileged(*folders: Path) -> None:
        for path in (Path("/etc/subuid"), Path("/etc/subgid")):
            if not subid_range_present(path):
                raise LxcBackendError(f"{path} lacks root:{IDMAP_BASE}:{IDMAP_SIZE} for unprivileged CTs: {_HINT}")
        # The mapped root (host uid 100000) must be able to walk down to its rootfs layers.
        for folder in {path for start in folders for path in (start, *start.parents)}:
            if folder.exists() and not folder.stat().st_mode & 0o001:
                raise LxcBackendError(
                    f"{folder} is not searchable by the unprivileged container's root (uid {IDMAP_BASE}): "
                    f"chmod o+x {folder} or use a state dir below a world-searchable path"
                )

    async def ensure_bridge(self) -> None:
        """lxc-net without systemd: lxcbr0 10.0.3.1/24, dnsmasq (DHCP + DNS) and NAT. Idempotent."""
        if await self.gateway() is not None:
            return
        await run_command([LXC_NET, "stop"], time_limit=30)  # a half-started lxc-net refuses to start again
        result = await run_command([LXC_NET, "start"], time_limit=30)
        if result.exit_code != 0 or await self.gateway() is None:
            detail = result.stderr.decode(errors="replace")[-500:]
            raise LxcBackendError(f"cannot start the {self.bridge} bridge: {detail}")

    async def gateway(self) -> str | None:
        """The bridge's IPv4 address (the CTs' gateway and DNS server), None while it is down."""
        result = await run_command(["ip", "-4", "-o", "addr", "show", "dev", self.bridge], time_limit=10)
        match = re.search(rb" inet (\d+\.\d+\.\d+\.\d+)/", result.stdout)
        return match.group(1).decode() if result.exit_code == 0 and match else None

    async def base_dir(self, *, shifted: bool = False) -> Path:
        """The tarball extracted once into the cache, shared read-only by every CT as the overlay's lower dir.

        ``shifted``: owners moved up by 100000 for unprivileged CTs (LXC cannot idmap an overlay rootfs), the
        on-disk layout PVE uses for them too. Extraction goes to a staging dir and is renamed into place, so a
        crash or a concurrent simulator never sees half a base.
        """
        stem = self.rootfs_tarball.resolve().name.split(".tar")[0]
        base = self.base_root / (f"{stem}-shifted-{IDMAP_BASE}" if shifted else stem)
        async with self._base_lock:
            if base.is_dir():
                return base
            await asyncio.to_thread(self.base_root.mkdir, parents=True, exist_ok=True)
            staging = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix=f".{base.name}.", dir=self.base_root))
            try:
                await self.extract(staging)
                await asyncio.to_thread(_publish, staging, base, shifted)
            finally:
                await asyncio.to_thread(shutil.rmtree, staging, True)
        return base

    async def extract(self, target: Path) -> None:
        await asyncio.to_thread(target.mkdir, parents=True, exist_ok=True)
        argv = ["tar", "--numeric-owner", "--xattrs", "--acls", "-I", "zstd -q", "-xpf", str(self.rootfs_tarball)]
        result = await run_command([*argv, "-C", str(target)], time_limit=600)
        if result.exit_code != 0:
            detail = result.stderr.decode(errors="replace")[-500:]
            raise LxcBackendError(f"extracting {self.rootfs_tarball} failed: {detail}")


def _publish(staging: Path, base: Path, shifted: bool) -> None:
    if shifted:
        shift_owners(staging, IDMAP_BASE)
    staging.chmod(0o755)  # mkdtemp made it 0700; unprivileged CTs must be able to enter it
    try:
        staging.rename(base)
    except OSError:
        if not base.is_dir():  # anything but "another process was faster"
            raise


def shift_owners(root: Path, offset: int) -> None:
    """Add ``offset`` to the uid/gid of everything under ``root`` (symlinks themselves, never their targets)."""
    for dirpath, dirnames, filenames in os.walk(root):
        entries = [dirpath] + [os.path.join(dirpath, name) for name in filenames]
        entries += [os.path.join(dirpath, name) for name in dirnames if os.path.islink(os.path.join(dirpath, name))]
        for path in entries:
            info = os.lstat(path)
            if info.st_uid >= offset:
                continue  # already shifted
            os.lchown(path, info.st_uid + offset, info.st_gid + offset)
            if not stat.S_ISLNK(info.st_mode):
                os.chmod(path, stat.S_IMODE(info.st_mode))  # chown clears setuid/setgid bits: put them back
