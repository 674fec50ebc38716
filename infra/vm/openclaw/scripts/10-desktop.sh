#!/usr/bin/env bash
# XFCE desktop (no display manager: the desktop is reached through VNC). Idempotent: apt skips what is there.
set -Eeuo pipefail
apt-get -q update
apt-get -q -y install --no-install-recommends xfce4 xfce4-terminal xfce4-goodies dbus-x11 \
  fonts-dejavu fonts-noto-color-emoji xdg-utils at-spi2-core
echo "XFCE installed"
