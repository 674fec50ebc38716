#!/usr/bin/env bash
# Claude Code from npm, pinned (npm checks the tarball's registry integrity hash).
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../files/lib/common.sh
source /opt/forge-shield/lib/common.sh

command -v npm >/dev/null || fs_die "npm is missing: 20-node.sh must run first"
fs_npm_global "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION"
install -d -m 0700 -o "$FS_USER" -g "$FS_USER" "$FS_HOME/.claude"
fs_log "claude $(claude --version 2>/dev/null || echo '?')"
