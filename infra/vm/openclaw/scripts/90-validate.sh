#!/usr/bin/env bash
# Validate the VM: every component present at its pinned version and the VNC service running.
set -Eeuo pipefail
failed=0
# check NAME COMMAND…: the command must succeed.
check() {
  local name=$1
  shift
  if "$@" >/dev/null 2>&1; then echo "ok    $name"; else echo "FAIL  $name"; failed=1; fi
}
check "xfce4-session" command -v xfce4-session
check "user ${OPENCLAW_USER:?}" id "$OPENCLAW_USER"
check "google-chrome" google-chrome --version
# shellcheck disable=SC2317  # called through check "$@"
node_pinned() { [[ $(node --version) == "v${OPENCLAW_NODE_VERSION:?}" ]]; }
# shellcheck disable=SC2317  # called through check "$@"
openclaw_pinned() { npm ls -g openclaw | grep -qF "openclaw@${OPENCLAW_OPENCLAW_VERSION:?}"; }
check "node v${OPENCLAW_NODE_VERSION:?}" node_pinned
check "openclaw ${OPENCLAW_OPENCLAW_VERSION:?}" openclaw_pinned
check "vncserver@:${OPENCLAW_VNC_DISPLAY:-1}" systemctl is-active --quiet "vncserver@:${OPENCLAW_VNC_DISPLAY:-1}.service"
check "qemu-guest-agent" systemctl is-active --quiet qemu-guest-agent.service
exit "$failed"
