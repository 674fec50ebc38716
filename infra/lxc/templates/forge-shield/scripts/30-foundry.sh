#!/usr/bin/env bash
# Foundry (forge, cast, anvil, chisel) from the pinned release tarball into the user's ~/.foundry/bin.
# Upstream publishes no checksum file for these tarballs, so FOUNDRY_SHA256 in versions.env is mandatory.
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../files/lib/common.sh
source /opt/forge-shield/lib/common.sh

if fs_user_has_version "${FOUNDRY_VERSION#v}" forge --version; then
  fs_log "foundry $FOUNDRY_VERSION already installed"
  exit 0
fi
name=foundry_${FOUNDRY_VERSION}_linux_amd64.tar.gz
fs_download "https://github.com/foundry-rs/foundry/releases/download/$FOUNDRY_VERSION/$name" "$FS_CACHE/$name"
fs_verify_pinned "$FS_CACHE/$name" "$FOUNDRY_SHA256" FOUNDRY_SHA256
install -d -o "$FS_USER" -g "$FS_USER" "$FS_HOME/.foundry" "$FS_HOME/.foundry/bin"
tar -xzf "$FS_CACHE/$name" -C "$FS_HOME/.foundry/bin" --no-same-owner forge cast anvil chisel
chown "$FS_USER:$FS_USER" "$FS_HOME/.foundry/bin/"*
fs_log "$(fs_as_user forge --version | head -n 1)"
