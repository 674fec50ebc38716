#!/usr/bin/env bats
# Real-LXC lane: the engine deploys `minimal` into a real LXC container. The "PVE host" is the simulator with its
# lxc backend: `lxc-manager pve-sim --backend lxc` writes pct/pvesh/pveam/pvesm into <state>/bin, and this suite
# puts that folder first on PATH, so deploy.sh runs exactly as on a node (pct create/start over the HTTPS API,
# pct exec/push into the container through lxc-attach). apt-get really installs from the Debian mirror; the
# service really runs and answers on the container's address on lxcbr0.
#
# Needs root, LXC and the cached Debian rootfs (scripts/build-lxc-rootfs.sh builds it, ~1 min the first time).
# Skips with the reason otherwise; under CI=true a missing prerequisite fails instead.
# Run it with: make e2e-lxc   (or: bats tests/infra/lxc-real.bats, as root)

# shellcheck disable=SC2154  # status, output, stderr and lines are set by bats' run
unavailable() {
  if [[ ${CI:-} == true || ${CI:-} == 1 ]]; then
    echo "CI=true requires the real-LXC lane: $1" >&2
    return 1
  fi
  skip "real-LXC lane: $1"
}

setup_file() {
  load test_helper
  export LXC_SIM_STATE='' LXC_SIM_PID=''
  local cli=$REPO_ROOT/.venv/bin/lxc-manager
  [[ $(id -u) -eq 0 ]] || { unavailable "needs root (real containers)"; return; }
  [[ -x $cli ]] || { unavailable "no $cli (run make install)"; return; }
  "$REPO_ROOT/scripts/build-lxc-rootfs.sh" >"$BATS_FILE_TMPDIR/rootfs.log" 2>&1 ||
    { unavailable "scripts/build-lxc-rootfs.sh failed (lxc not installable or no Debian mirror): $(tail -n 3 "$BATS_FILE_TMPDIR/rootfs.log")"; return; }
  # Not under bats' 0700 tmp tree: the unprivileged CT's root (host uid 100000) must reach its files.
  LXC_SIM_STATE=$(mktemp -d /var/tmp/lxcm-engine-lxc.XXXXXX)
  chmod 0711 "$LXC_SIM_STATE"
  setsid "$cli" pve-sim --backend lxc --state-dir "$LXC_SIM_STATE" --port 0 --nodes 1 --task-duration 0.05 \
    --auth-delay 0 >"$LXC_SIM_STATE/pve-sim.log" 2>&1 &
  LXC_SIM_PID=$!
  local i
  for ((i = 0; i < 600; i++)); do
    [[ -f $LXC_SIM_STATE/connection.json ]] && break
    kill -0 "$LXC_SIM_PID" 2>/dev/null || break
    sleep 0.1
  done
  [[ -f $LXC_SIM_STATE/connection.json ]] || { cat "$LXC_SIM_STATE/pve-sim.log" >&3; return 1; }
  export LXCM_PVE_CLI_DIR=$LXC_SIM_STATE/bin
}

teardown_file() {
  if [[ -n ${LXC_SIM_PID:-} ]]; then
    kill -TERM "$LXC_SIM_PID" 2>/dev/null || true
    local i
    for ((i = 0; i < 600; i++)); do kill -0 "$LXC_SIM_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  # The simulator stops and removes its containers when it exits; the state folder is ours to remove.
  [[ -n ${LXC_SIM_STATE:-} && -d $LXC_SIM_STATE ]] && rm -rf -- "$LXC_SIM_STATE"
  return 0
}

setup() {
  load test_helper
  export PATH=$LXCM_PVE_CLI_DIR:/usr/sbin:/usr/bin:/sbin:/bin
  export STATE_DIR=$BATS_TEST_TMPDIR/state LXC_PYTHON=/usr/bin/python3
}

teardown() {
  [[ -n ${VMID:-} ]] && { pct stop "$VMID" || true; pct destroy "$VMID" || true; } >/dev/null 2>&1
  return 0
}

@test "minimal deploys for real: apt installs, the web page is served on lxcbr0 and verified, credential captured" {
  local started=$SECONDS
  run --separate-stderr "$DEPLOY" minimal --json --set "greeting=Hello real LXC" --state-dir "$STATE_DIR"
  echo "# real-LXC deploy of minimal (create → verified): $((SECONDS - started)) s" >&3
  VMID=$(sed -n 's/^vmid=//p' "$STATE_DIR"/*.state)
  [[ $status -eq 0 ]] || { echo "$stderr"; tail -n 40 "$STATE_DIR"/*.log; false; }
  [[ ${lines[-1]} == *'"type":"result"'*'"status":"succeeded"'* ]]
  local ip
  ip=$(sed -n 's/^ip=//p' "$STATE_DIR"/*.state)
  [[ $ip == 10.0.3.* ]]

  # The page answers on the container's address, from this host, through the real bridge.
  run curl -fsS --max-time 10 "http://$ip:8080/"
  assert_success
  assert_output --partial "Hello real LXC"
  run pct exec "$VMID" -- systemctl is-active minimal-web.service
  assert_output active
  # Packages really came from the mirror (curl is not in the base rootfs).
  # shellcheck disable=SC2016  # the ${Status} format is dpkg-query's, not the shell's
  run pct exec "$VMID" -- dpkg-query -W -f '${Status}' curl
  assert_output "install ok installed"
  run pct status "$VMID"
  assert_output "status: running"
  run pct config "$VMID"
  assert_line --regexp "^tags: .*lxcm-minimal-"
  assert_line "unprivileged: 1"

  local id
  id=$(sed -n 's/^deploy_id=//p' "$STATE_DIR"/*.state)
  [[ -s $STATE_DIR/$id.d/credentials/admin_password ]]
  run pct exec "$VMID" -- cat /etc/minimal-web/admin_password
  assert_output "$(cat "$STATE_DIR/$id.d/credentials/admin_password")"
  run pct exec "$VMID" -- test -e /root/.lxc-deploy
  assert_failure
}
