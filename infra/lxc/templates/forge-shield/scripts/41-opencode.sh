#!/usr/bin/env bash
# OpenCode from npm, pinned.
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../files/lib/common.sh
source /opt/forge-shield/lib/common.sh

command -v npm >/dev/null || fs_die "npm is missing: 20-node.sh must run first"
fs_npm_global "opencode-ai@$OPENCODE_VERSION"
install -d -m 0700 -o "$FS_USER" -g "$FS_USER" "$FS_HOME/.config" "$FS_HOME/.config/opencode"
fs_log "opencode $OPENCODE_VERSION"
