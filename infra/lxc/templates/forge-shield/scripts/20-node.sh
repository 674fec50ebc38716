#!/usr/bin/env bash
# Node.js from the official tarball, checked against the release's SHASUMS256.txt, into /usr/local.
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../files/lib/common.sh
source /opt/forge-shield/lib/common.sh

if [[ $(node --version 2>/dev/null) == "v$NODE_VERSION" ]]; then
  fs_log "node v$NODE_VERSION already installed"
  exit 0
fi
name=node-v$NODE_VERSION-linux-x64.tar.xz
base=https://nodejs.org/dist/v$NODE_VERSION
fs_download "$base/SHASUMS256.txt" "$FS_CACHE/node-$NODE_VERSION-SHASUMS256.txt"
fs_download "$base/$name" "$FS_CACHE/$name"
fs_verify_published "$FS_CACHE/$name" "$(fs_sum_from_list "$FS_CACHE/node-$NODE_VERSION-SHASUMS256.txt" "$name")" "$NODE_SHA256"
tar -xJf "$FS_CACHE/$name" -C /usr/local --strip-components=1 --no-same-owner \
  --exclude='*/CHANGELOG.md' --exclude='*/LICENSE' --exclude='*/README.md'
fs_log "node $(node --version), npm $(npm --version)"
