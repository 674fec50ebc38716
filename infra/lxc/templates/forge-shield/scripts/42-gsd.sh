#!/usr/bin/env bash
# GSD ("get shit done", npm get-shit-done-cc, pinned): installed globally, then its commands set up in the
# user's Claude Code and OpenCode configuration (re-running the installer is idempotent upstream).
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../files/lib/common.sh
source /opt/forge-shield/lib/common.sh

fs_npm_global "get-shit-done-cc@$GSD_VERSION"
marker=$FS_HOME/.claude/.forge-shield-gsd-$GSD_VERSION
if [[ -f $marker ]]; then
  fs_log "GSD $GSD_VERSION already set up for $FS_USER"
  exit 0
fi
fs_as_user get-shit-done-cc --claude --opencode --global </dev/null
fs_as_user touch "$marker"
fs_log "GSD $GSD_VERSION set up for $FS_USER"
