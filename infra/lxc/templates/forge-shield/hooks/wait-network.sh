#!/usr/bin/env bash
# Runs in the container after start: wait (up to 60 s) for a default route and DNS before apt runs.
set -Eeuo pipefail
for _ in $(seq 1 60); do
  if ip route show default | grep -q . && getent hosts deb.debian.org >/dev/null; then
    exit 0
  fi
  sleep 1
done
echo "network not ready after 60 s (no default route or DNS)" >&2
exit 1
