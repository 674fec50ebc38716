#!/usr/bin/env bash
# Install the system packages the test suite needs (Debian/Ubuntu, as root). Idempotent and quiet when done.
set -Eeuo pipefail

packages=(bats bats-support bats-assert shellcheck python3-yaml openssh-client openssh-server lxc debootstrap zstd chromium busybox)
# lxc, debootstrap, zstd: real containers for the simulator's lxc backend; chromium: the SPA end-to-end tests (Playwright drives it)
# busybox: its sh (ash, as in Alpine containers) runs the SSH tether's tests beside dash and bash
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "missing system packages: ${missing[*]} — install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing system packages: ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
