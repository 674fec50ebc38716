#!/usr/bin/env bash
# Shell configuration for the user: PATH for every toolchain (profile.d), tmux.conf, a .bashrc hook.
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../files/lib/common.sh
source /opt/forge-shield/lib/common.sh

install -m 0644 "$FS_ROOT/skel/forge-shield.sh" /etc/profile.d/forge-shield.sh
bashrc=$FS_HOME/.bashrc
line='[ -f /etc/profile.d/forge-shield.sh ] && . /etc/profile.d/forge-shield.sh'
touch "$bashrc"
grep -qxF -- "$line" "$bashrc" || printf '\n# forge-shield toolchains\n%s\n' "$line" >>"$bashrc"
chown "$FS_USER:$FS_USER" "$bashrc"
[[ -f $FS_HOME/.tmux.conf ]] || install -m 0644 -o "$FS_USER" -g "$FS_USER" "$FS_ROOT/skel/tmux.conf" "$FS_HOME/.tmux.conf"
fs_log "shell configured for $FS_USER"
