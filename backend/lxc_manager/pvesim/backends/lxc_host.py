"""Host side of the lxc backend: the checks, the lxcbr0 bridge and the shared rootfs extracted from the cache."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

from lxc_manager.pvesim.backends.lxc_config import IDMAP_BASE, IDMAP_SIZE
from lxc_manager.pvesim.backends.lxc_process import LxcBackendError, run_command

DEFAULT_CACHE_DIR = Path("/var/cache/lxc-manager")
DEFAULT_TARBALL_NAME = "rootfs-bookworm.tar.zst"
LXC_NET = "/usr/libexec/lxc/lxc-net"
REQUIRED_TOOLS = ("lxc-start", "lxc-attach", "lxc-stop", "lxc-info", "lxc-freeze", "lxc-unfreeze", "tar", "zstd")
_HINT = "run scripts/build-lxc-rootfs.sh as root"


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
    def check_unprivileged(ct_dir: Path) -> None:
        for path in (Path("/etc/subuid"), Path("/etc/subgid")):
            if not subid_range_present(path):
                raise LxcBackendError(f"{path} lacks root:{IDMAP_BASE}:{IDMAP_SIZE} for unprivileged CTs: {_HINT}")
        # The mapped root (host uid 100000) must be able to walk down to its rootfs.
        for folder in [ct_dir, *ct_dir.parents]:
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

    async def base_dir(self) -> Path:
        """The tarball extracted once (to a staging dir, then renamed, so a crash never leaves half a base)."""
        stem = self.rootfs_tarball.resolve().name.split(".tar")[0]
        base = self.base_root / stem
        async with self._base_lock:
            if not base.is_dir():
                staging = self.base_root / f".{stem}.partial"
                await asyncio.to_thread(shutil.rmtree, staging, True)
                await self.extract(staging)
                staging.rename(base)
        return base

    async def extract(self, target: Path) -> None:
        await asyncio.to_thread(target.mkdir, parents=True)
        argv = ["tar", "--numeric-owner", "--xattrs", "--acls", "-I", "zstd -q", "-xpf", str(self.rootfs_tarball)]
        result = await run_command([*argv, "-C", str(target)], time_limit=600)
        if result.exit_code != 0:
            detail = result.stderr.decode(errors="replace")[-500:]
            raise LxcBackendError(f"extracting {self.rootfs_tarball} failed: {detail}")
