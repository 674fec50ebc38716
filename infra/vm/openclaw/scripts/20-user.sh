#!/usr/bin/env bash
# The desktop user (created by cloud-init from --ciuser): sudo, standard folders, XFCE as its session.
set -Eeuo pipefail
user=${OPENCLAW_USER:?}
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
usermod -aG sudo "$user"
home=$(getent passwd "$user" | cut -d: -f6)
install -d -o "$user" -g "$user" "$home/Desktop" "$home/Downloads" "$home/.config"
printf 'xfce4-session\n' >"$home/.xsession"
chown "$user:$user" "$home/.xsession"
echo "user $user ready"
