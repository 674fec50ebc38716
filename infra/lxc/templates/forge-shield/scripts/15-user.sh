#!/usr/bin/env bash
# The development user: account, password (from the secret input file), sudo, SSH key, git identity.
# Hands the password back to the engine as FORGE_USER_PASSWORD (captured into a 0600 credentials file).
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../files/lib/common.sh
source /opt/forge-shield/lib/common.sh

password_file=${INPUT_USER_PASSWORD_FILE:?the user_password input file is missing}
if ! id "$FS_USER" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash --groups sudo "$FS_USER"
  fs_log "created user $FS_USER"
fi
usermod -aG sudo "$FS_USER"
FS_HOME=$(getent passwd "$FS_USER" | cut -d: -f6)
# chpasswd reads "user:password" on stdin: the password never appears in argv.
{ printf '%s:' "$FS_USER"; cat "$password_file"; printf '\n'; } | chpasswd
printf 'FORGE_USER_PASSWORD=%s\n' "$(cat "$password_file")" >>"$LXCM_OUTPUT_FILE"

if [[ -n ${INPUT_SSH_PUBLIC_KEY:-} ]]; then
  install -d -m 0700 -o "$FS_USER" -g "$FS_USER" "$FS_HOME/.ssh"
  keys=$FS_HOME/.ssh/authorized_keys
  touch "$keys"
  grep -qxF -- "$INPUT_SSH_PUBLIC_KEY" "$keys" || printf '%s\n' "$INPUT_SSH_PUBLIC_KEY" >>"$keys"
  chown "$FS_USER:$FS_USER" "$keys"
  chmod 0600 "$keys"
fi

[[ -z ${INPUT_GIT_NAME:-} ]] || fs_as_user git config --global user.name "$INPUT_GIT_NAME"
[[ -z ${INPUT_GIT_EMAIL:-} ]] || fs_as_user git config --global user.email "$INPUT_GIT_EMAIL"
fs_as_user git config --global init.defaultBranch main
fs_log "user $FS_USER ready"
