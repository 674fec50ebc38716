#!/usr/bin/env bash
# post-provision: drop downloaded archives and apt lists to keep the container small (re-runnable).
set -Eeuo pipefail
apt-get -q clean
rm -rf /var/cache/forge-shield/*.part
echo "apt caches cleaned"
