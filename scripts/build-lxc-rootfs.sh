#!/usr/bin/env bash
# Build (once) the bootable Debian 12 rootfs tarball the simulator's real `lxc` backend boots its containers from.
#
#   scripts/build-lxc-rootfs.sh            build when missing, print the tarball path on stdout
#   scripts/build-lxc-rootfs.sh --force    rebuild even when cached
#   scripts/build-lxc-rootfs.sh --check    exit 0 when cached (prints the path), 3 when it would have to build
#
# The tarball is cached under ${LXCM_LXC_CACHE:-/var/cache/lxc-manager}, keyed by suite, mirror and package list,
# with a stable symlink rootfs-bookworm.tar.zst pointing at the current build. Needs root (debootstrap, apt).
# Also brings up the lxcbr0 bridge (lxc-net: 10.0.3.1/24, dnsmasq DHCP/DNS without its 3 s ping check, NAT)
# and adds root:100000:65536 to /etc/subuid and /etc/subgid for unprivileged containers (what PVE ships).
# Every step is idempotent.
set -Eeuo pipefail
trap 'echo "build-lxc-rootfs: failed at line ${LINENO}: ${BASH_COMMAND}" >&2' ERR

SUITE=bookworm
CACHE_DIR=${LXCM_LXC_CACHE:-/var/cache/lxc-manager}
# What a PVE Debian template offers out of the box, plus what the tests and templates rely on (python3, ss, DHCP).
INCLUDE=${LXCM_LXC_INCLUDE:-systemd-sysv,dbus,iproute2,ifupdown,isc-dhcp-client,ca-certificates,python3,procps,less}
SOURCES=/etc/apt/sources.list.d/debian.sources

log() { echo "build-lxc-rootfs: $*" >&2; }
die() {
  log "$*"
  exit 1
}

mode=build
case "${1:-}" in
  "") ;;
  --force) mode=force ;;
  --check) mode=check ;;
  -h | --help)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *) die "unknown argument: $1 (use --force, --check or --help)" ;;
esac

[[ -r $SOURCES ]] || die "$SOURCES not found: cannot tell which Debian mirror to use"
MIRROR=$(awk '/^URIs:/{print $2; exit}' "$SOURCES")
SECMIRROR=$(awk '/^URIs:/{n++; if (n == 2) {print $2; exit}}' "$SOURCES")
[[ -n $MIRROR ]] || die "no URIs: line in $SOURCES"

key=$(printf '%s\n' "$SUITE" "$MIRROR" "$SECMIRROR" "$INCLUDE" "layout-2" | sha256sum | cut -c1-12)
tarball="$CACHE_DIR/rootfs-$SUITE-$key.tar.zst"
link="$CACHE_DIR/rootfs-$SUITE.tar.zst"

ensure_packages() {
  local missing=() pkg
  for pkg in lxc debootstrap zstd; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]}"
  apt-get update -qq
  # lxc's postinst complains about apparmor_parser on kernels without AppArmor; that is harmless.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_bridge() {
  # dnsmasq pings an address for ~3 s before offering it; without that, a DHCP CT has its IP 0.6 s after start.
  local defaults=/etc/default/lxc-net
  if ! grep -qs '^LXC_DHCP_PING="false"' "$defaults"; then
    echo 'LXC_DHCP_PING="false"  # added by lxc-manager scripts/build-lxc-rootfs.sh' >>"$defaults"
  fi
  if ip -4 addr show dev lxcbr0 2>/dev/null | grep -q 'inet '; then
    # Restart an older lxc-net once for the setting above, but only while no container is attached to it.
    if ! pgrep -f -- 'dnsmasq.*--no-ping.*lxcbr0' >/dev/null && [[ -z $(ls -A /sys/class/net/lxcbr0/brif 2>/dev/null) ]]; then
      log "restarting lxc-net with --no-ping"
      /usr/libexec/lxc/lxc-net stop
      /usr/libexec/lxc/lxc-net start
    fi
    return 0
  fi
  log "starting the lxcbr0 bridge (lxc-net)"
  # A half-started lxc-net (bridge without dnsmasq) refuses to start again: stop it first.
  /usr/libexec/lxc/lxc-net stop >/dev/null 2>&1 || true
  /usr/libexec/lxc/lxc-net start
}

ensure_subids() {
  # Unprivileged CTs map container root to host uid 100000, like PVE (which ships these two lines).
  local file
  for file in /etc/subuid /etc/subgid; do
    grep -qs '^root:100000:65536$' "$file" || echo 'root:100000:65536' >>"$file"
  done
}

configure_rootfs() {
  local root=$1
  {
    echo "deb $MIRROR $SUITE main"
    echo "deb $MIRROR $SUITE-updates main"
    if [[ -n $SECMIRROR ]]; then echo "deb $SECMIRROR $SUITE-security main"; fi
  } >"$root/etc/apt/sources.list"
  # Per-container identity is written by the backend at create time; the image carries none of its own.
  : >"$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id" "$root/etc/hostname" "$root/etc/resolv.conf"
  printf 'auto lo\niface lo inet loopback\n' >"$root/etc/network/interfaces"
  # Units that only make sense on real hardware or fail noisily inside a container.
  local unit
  for unit in systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
    systemd-journald-audit.socket getty@tty1.service sys-kernel-config.mount sys-kernel-debug.mount; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
  done
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/var/cache/debconf/*-old
}

build() {
  local work started
  started=$(date +%s.%N)
  mkdir -p "$CACHE_DIR"
  work=$(mktemp -d "$CACHE_DIR/.build.XXXXXX")
  # shellcheck disable=SC2064  # expand $work now: the trap must remove this very directory
  trap "rm -rf '$work'" EXIT
  log "debootstrap $SUITE from $MIRROR (include: $INCLUDE)"
  debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$work/rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
    {
      tail -n 20 "$work/debootstrap.log" >&2
      die "debootstrap failed (is $MIRROR reachable?)"
    }
  configure_rootfs "$work/rootfs"
  log "packing $tarball"
  tar --numeric-owner --xattrs --acls -C "$work/rootfs" -I 'zstd -T0 -3 -q' -cf "$work/rootfs.tar.zst" .
  mv -f "$work/rootfs.tar.zst" "$tarball"
  ln -sfn "$(basename "$tarball")" "$link"
  # Older builds (another package list or mirror) are superseded by this one.
  find "$CACHE_DIR" -maxdepth 1 -name "rootfs-$SUITE-*.tar.zst" ! -name "$(basename "$tarball")" -delete
  # ...and so are the shared rootfs dirs the lxc backend extracted from them (base/<stem>[-shifted-100000]).
  if [[ -d $CACHE_DIR/base ]]; then
    find "$CACHE_DIR/base" -mindepth 1 -maxdepth 1 -name "rootfs-$SUITE-*" ! -name "rootfs-$SUITE-$key*" \
      -exec rm -rf {} +
  fi
  log "built in $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}') s, $(du -h "$tarball" | cut -f1)"
}

if [[ $mode == check ]]; then
  [[ -s $tarball ]] || exit 3
  echo "$tarball"
  exit 0
fi
[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, apt-get, lxc-net)"
ensure_packages
ensure_bridge
ensure_subids
if [[ $mode == force || ! -s $tarball ]]; then
  build
else
  ln -sfn "$(basename "$tarball")" "$link"
  log "cached: $tarball"
fi
echo "$tarball"
