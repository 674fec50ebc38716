#!/usr/bin/env bash
# TigerVNC serving the user's XFCE session on display :N, bound to localhost (reach it through an SSH
# tunnel: ssh -L 5901:localhost:5901 user@vm). The password arrives in the environment, never in argv.
set -Eeuo pipefail
user=${OPENCLAW_USER:?} display=${OPENCLAW_VNC_DISPLAY:-1} geometry=${OPENCLAW_VNC_GEOMETRY:-1920x1080}
apt-get -q -y install --no-install-recommends tigervnc-standalone-server tigervnc-common
home=$(getent passwd "$user" | cut -d: -f6)
install -d -m 0700 -o "$user" -g "$user" "$home/.config/tigervnc"
printf '%s\n' "${OPENCLAW_VNC_PASSWORD:?}" | vncpasswd -f >"$home/.config/tigervnc/passwd"
chown "$user:$user" "$home/.config/tigervnc/passwd"
chmod 0600 "$home/.config/tigervnc/passwd"
printf 'session=xfce\ngeometry=%s\nlocalhost\nalwaysshared\n' "$geometry" >"$home/.config/tigervnc/config"
chown "$user:$user" "$home/.config/tigervnc/config"
grep -qx ":$display=$user" /etc/tigervnc/vncserver.users 2>/dev/null || echo ":$display=$user" >>/etc/tigervnc/vncserver.users
systemctl enable "vncserver@:$display.service"
systemctl restart "vncserver@:$display.service"
echo "VNC on localhost:$((5900 + display)) for $user"
