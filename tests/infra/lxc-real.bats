#!/usr/bin/env bats
# Real-LXC lane: the engine deploys `minimal` into a real LXC container through a Proxmox command line
# (pct, pvesh, pveam) backed by the simulator's lxc backend. Skips, saying why, where that is not available.
# Run it with: LXCM_PVE_CLI_DIR=<dir holding pct, pvesh, pveam> bats tests/infra/lxc-real.bats  (as root)

# shellcheck disable=SC2154  # status, output, stderr and lines are set by bats' run
setup() {
  load test_helper
  local cli=$REPO_ROOT/.venv/bin/lxc-manager
  if ! "$cli" pve-sim --help 2>/dev/null | grep -q -- '--backend'; then
    skip "real-LXC lane: 'lxc-manager pve-sim --backend lxc' is not available (make install)"
  fi
  if [[ -z ${LXCM_PVE_CLI_DIR:-} || ! -x ${LXCM_PVE_CLI_DIR:-}/pct || ! -x ${LXCM_PVE_CLI_DIR:-}/pvesh || ! -x ${LXCM_PVE_CLI_DIR:-}/pveam ]]; then
    skip "real-LXC lane: set LXCM_PVE_CLI_DIR to a folder with pct (create/start/config/exec/push), pvesh and pveam backed by the simulator's lxc backend; its SSH pct offers exec/push/pull/status/list only"
  fi
  [[ $(id -u) -eq 0 ]] || skip "real-LXC lane: needs root (real containers)"
  export PATH=$LXCM_PVE_CLI_DIR:/usr/bin:/bin
  export STATE_DIR=$BATS_TEST_TMPDIR/state LXC_PYTHON=/usr/bin/python3
}

teardown() {
  [[ -n ${VMID:-} ]] && { pct stop "$VMID" || true; pct destroy "$VMID" || true; } >/dev/null 2>&1
  return 0
}

@test "minimal deploys for real: packages installed, the web page served and verified, credential captured" {
  run --separate-stderr "$DEPLOY" minimal --json --set "greeting=Hello real LXC" --state-dir "$STATE_DIR"
  VMID=$(sed -n 's/^vmid=//p' "$STATE_DIR"/*.state)
  echo "$stderr" >&3
  assert_success
  [[ ${lines[-1]} == *'"type":"result"'*'"status":"succeeded"'* ]]
  run pct exec "$VMID" -- curl -fsS http://127.0.0.1:8080/
  assert_success
  assert_output --partial "Hello real LXC"
  run pct exec "$VMID" -- systemctl is-active minimal-web.service
  assert_output active
  local id
  id=$(sed -n 's/^deploy_id=//p' "$STATE_DIR"/*.state)
  [[ -s $STATE_DIR/$id.d/credentials/admin_password ]]
  run pct exec "$VMID" -- test -e /root/.lxc-deploy
  assert_failure
}
