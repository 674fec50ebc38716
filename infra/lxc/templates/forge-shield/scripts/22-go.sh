#!/usr/bin/env bash
# Go from the official tarball, checked against its published .sha256, into /usr/local/go.
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../files/lib/common.sh
source /opt/forge-shield/lib/common.sh

if [[ $(/usr/local/go/bin/go version 2>/dev/null) == *" go$GO_VERSION "* ]]; then
  fs_log "go $GO_VERSION already installed"
  exit 0
fi
name=go$GO_VERSION.linux-amd64.tar.gz
fs_download "https://go.dev/dl/$name.sha256" "$FS_CACHE/$name.sha256"
fs_download "https://go.dev/dl/$name" "$FS_CACHE/$name"
fs_verify_published "$FS_CACHE/$name" "$(tr -d ' \n' <"$FS_CACHE/$name.sha256")" "$GO_SHA256"
rm -rf /usr/local/go
tar -xzf "$FS_CACHE/$name" -C /usr/local --no-same-owner
ln -sf /usr/local/go/bin/go /usr/local/go/bin/gofmt /usr/local/bin/
fs_log "$(go version)"
