#!/usr/bin/env bash
# Claude Code setup for the user: CLAUDE.md and the forge-shield slash commands (from /opt/forge-shield/skel).
# Files the user has changed since are kept (install only when missing or still identical to an older copy).
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../files/lib/common.sh
source /opt/forge-shield/lib/common.sh

skel=$FS_ROOT/skel
install -d -m 0700 -o "$FS_USER" -g "$FS_USER" "$FS_HOME/.claude" "$FS_HOME/.claude/commands"
install_user_file() {
  local src=$1 dest=$2 stamp=$2.forge-shield-orig
  if [[ -f $dest && -f $stamp ]] && ! cmp -s "$dest" "$stamp"; then
    fs_log "keeping $dest (changed by the user)"
    return 0
  fi
  install -m 0644 -o "$FS_USER" -g "$FS_USER" "$src" "$dest"
  install -m 0644 -o "$FS_USER" -g "$FS_USER" "$src" "$stamp"
}
install_user_file "$skel/CLAUDE.md" "$FS_HOME/.claude/CLAUDE.md"
for command in "$skel"/commands/*.md; do
  install_user_file "$command" "$FS_HOME/.claude/commands/${command##*/}"
done
names=("$skel"/commands/*.md)
names=("${names[@]##*/}")
fs_log "Claude Code commands: ${names[*]}"
