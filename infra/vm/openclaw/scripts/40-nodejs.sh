#!/usr/bin/env bash
# Node.js (OpenClaw needs ≥ 22) from the official tarball, checked against the release's SHASUMS256.txt.
set -Eeuo pipefail
version=${OPENCLAW_NODE_VERSION:?}
if [[ $(node --version 2>/dev/null) == "v$version" ]]; then
  echo "node v$version already installed"
  exit 0
fi
name=node-v$version-linux-x64.tar.xz
base=https://nodejs.org/dist/v$version
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL --proto '=https' -o "$tmp/SHASUMS256.txt" "$base/SHASUMS256.txt"
curl -fsSL --proto '=https' -o "$tmp/$name" "$base/$name"
expected=$(awk -v n="$name" '$2 == n {print $1}' "$tmp/SHASUMS256.txt")
[[ $expected =~ ^[0-9a-f]{64}$ ]] || { echo "$name not in SHASUMS256.txt" >&2; exit 1; }
echo "$expected  $tmp/$name" | sha256sum -c --quiet -
tar -xJf "$tmp/$name" -C /usr/local --strip-components=1 --no-same-owner
echo "node $(node --version), npm $(npm --version)"
