#!/usr/bin/env bash
# OpenClaw from npm, pinned (npm checks the registry's integrity hash), plus a desktop launcher.
# Onboarding (model keys, channels) is interactive by design: the user runs `openclaw onboard` once.
set -Eeuo pipefail
version=${OPENCLAW_OPENCLAW_VERSION:?} user=${OPENCLAW_USER:?}
command -v npm >/dev/null || { echo "npm missing: run 40-nodejs.sh first" >&2; exit 1; }
installed=$(npm ls -g --depth=0 --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("dependencies",{}).get("openclaw",{}).get("version",""))' || true)
if [[ $installed != "$version" ]]; then
  npm install -g --no-fund --no-audit "openclaw@$version"
fi
home=$(getent passwd "$user" | cut -d: -f6)
cat >"$home/Desktop/openclaw-onboard.desktop" <<DESKTOP
[Desktop Entry]
Type=Application
Name=OpenClaw onboarding
Exec=xfce4-terminal --hold -e "openclaw onboard"
Icon=utilities-terminal
DESKTOP
chown "$user:$user" "$home/Desktop/openclaw-onboard.desktop"
chmod 0755 "$home/Desktop/openclaw-onboard.desktop"
echo "openclaw $(openclaw --version 2>/dev/null || echo "$version") installed"
