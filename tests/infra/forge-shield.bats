#!/usr/bin/env bats
# The forge-shield template: deployed through the engine with stubs, its structure (pinning, checksums,
# idempotency) and its shared helpers run for real in a sandbox. Nothing is downloaded or installed.

# shellcheck disable=SC2154  # status, output, stderr and lines are set by bats' run
setup() {
  load test_helper
  stub_setup
  FS=$REPO_ROOT/infra/lxc/templates/forge-shield
}

@test "forge-shield deploys through the engine: scripts in order, hooks around them, files and credential" {
  stub_rule pct 'exec * -- cat /root/.lxc-deploy/outputs' '*' 0 'OTHER=x\nFORGE_USER_PASSWORD=pw-from-script\n'
  deploy_run forge-shield --set username=alice --set "ssh_public_key=ssh-ed25519 AAAAC3Nza alice@laptop"
  assert_success
  grep -qE '^pct create 100 \S+ --hostname forge-shield --cores 4 --memory 8192 --swap 2048 --rootfs local-lvm:40 --unprivileged 1 --onboot 0 --features nesting=1\\,keyctl=1 ' "$STUB_DIR/calls"
  local order=('^pct start 100$' 'hooks/wait-network\.sh$'
    '^pct push 100 \S+/files/versions\.env /opt/forge-shield/versions\.env --perms 0644'
    '^pct push 100 \S+/files/lib/common\.sh /opt/forge-shield/lib/common\.sh'
    '^pct push 100 \S+/files/bin/forge-verify /usr/local/bin/forge-verify --perms 0755'
    'apt-get .* install ca-certificates curl iproute2 procps build-essential .* pipx openssh-server sudo tmux locales$')
  local script
  for script in 10-base 15-user 20-node 21-python 22-go 23-rust 30-foundry 31-solc-select 40-claude-code \
    41-opencode 42-gsd 50-security-web 51-security-solidity 60-claude-skills 61-shell-config 90-verify; do
    order+=("/root/\\.lxc-deploy/run /root/\\.lxc-deploy/scripts/$script\\.sh$")
  done
  order+=('hooks/apt-clean\.sh$' '^pct exec 100 -- systemctl is-active --quiet ssh\.service$' '^pct exec 100 -- ss -H -ltn sport = :22$'
    'hooks/motd\.sh$' '^pct exec 100 -- cat /root/\.lxc-deploy/outputs$' '^pct exec 100 -- rm -rf -- /root/\.lxc-deploy$')
  assert_call_order "${order[@]}"
  local id
  id=$(sed -n 's/^deploy_id=//p' "$(state_file)")
  assert_equal "$(cat "$STATE_DIR/$id.d/credentials/user_password")" "pw-from-script"
  refute_grep -F 'pw-from-script' "$STATE_DIR/$id.log"
  grep -qx 'export INPUT_USERNAME=alice' "$STUB_DIR/ct/100/rootfs/root/.lxc-deploy/env"
  grep -qx "export INPUT_SSH_PUBLIC_KEY='ssh-ed25519 AAAAC3Nza alice@laptop'" "$STUB_DIR/ct/100/rootfs/root/.lxc-deploy/env"
}

@test "forge-shield --dry-run plans every script and touches nothing" {
  deploy_run forge-shield --dry-run --set install_zap=false
  assert_success
  [[ $output == *"install_zap=false"* ]]
  [[ $output == *"/root/.lxc-deploy/scripts/90-verify.sh"* ]]
  run mutating_calls
  assert_output ""
}

@test "forge-shield inputs are validated (user name pattern, SSH key shape)" {
  deploy_run forge-shield --dry-run --set 'username=Root;rm'
  assert_equal "$status" 5
  [[ $stderr == *"--set username: value does not match the pattern"* ]]
  deploy_run forge-shield --dry-run --set 'ssh_public_key=not a key'
  assert_equal "$status" 5
}

@test "versions are pinned only in files/versions.env" {
  # No script, hook or helper carries a version number of its own.
  run grep -nE '([0-9]+\.){2}[0-9]+' "$FS"/scripts/*.sh "$FS"/hooks/*.sh "$FS"/files/lib/common.sh "$FS"/files/bin/*
  assert_failure
  # Every *_VERSION a script uses is defined in versions.env.
  local var vars
  mapfile -t vars < <(grep -ohE '\b[A-Z_]+_(VERSION|TOOLCHAIN)\b' "$FS"/scripts/*.sh "$FS"/files/bin/* | sort -u)
  ((${#vars[@]} > 10))
  for var in "${vars[@]}"; do
    grep -qE "^$var=[^ ]+" "$FS/files/versions.env" || { echo "$var is not pinned in versions.env" >&2; return 1; }
  done
}

@test "every script that downloads verifies a SHA-256 and never pipes into a shell" {
  local script
  for script in "$FS"/scripts/*.sh; do
    if grep -q 'fs_download' "$script"; then
      grep -qE 'fs_verify_(published|pinned)' "$script" || { echo "$script downloads without verifying" >&2; return 1; }
    fi
  done
  run grep -nE '(curl|wget)[^|]*\|[[:space:]]*(ba|z)?sh' "$FS"/scripts/*.sh "$FS"/files/lib/common.sh
  assert_failure
  run grep -nE 'fs_download "http://' "$FS"/scripts/*.sh
  assert_failure
}

@test "every installing script checks before it installs (idempotent)" {
  local script
  for script in "$FS"/scripts/[2-5]*.sh; do
    grep -qE 'already installed|already set up|fs_(apt_install|pipx_install|npm_global)' "$script" ||
      { echo "$script has no check-before-install" >&2; return 1; }
  done
}

# Source common.sh in a sandbox (FS_ROOT pointing at the template's files/).
sandbox() {
  export FS_ROOT=$BATS_TEST_TMPDIR/root FS_CACHE=$BATS_TEST_TMPDIR/cache
  mkdir -p "$FS_ROOT" "$FS_CACHE"
  cp "$FS/files/versions.env" "$FS_ROOT/"
  # shellcheck source=infra/lxc/templates/forge-shield/files/lib/common.sh
  source "$FS/files/lib/common.sh"
  set +eE
}

@test "common.sh: a checksum mismatch fails and removes the file; a match passes" {
  sandbox
  printf 'artifact' >"$FS_CACHE/a.tar.gz"
  local good
  good=$(sha256sum "$FS_CACHE/a.tar.gz" | cut -d' ' -f1)
  run fs_verify_sha256 "$FS_CACHE/a.tar.gz" "$good"
  assert_success
  assert_output --partial "sha256 ok: a.tar.gz"
  run fs_verify_sha256 "$FS_CACHE/a.tar.gz" "$(printf '0%.0s' {1..64})"
  assert_failure
  assert_output --partial "checksum mismatch for a.tar.gz"
  [[ ! -e $FS_CACHE/a.tar.gz ]]
}

@test "common.sh: published list lookup, pin disagreement and a missing mandatory pin are refused" {
  sandbox
  printf 'node' >"$FS_CACHE/node-v1-linux-x64.tar.xz"
  local sum
  sum=$(sha256sum "$FS_CACHE/node-v1-linux-x64.tar.xz" | cut -d' ' -f1)
  printf '%s  other.tar.xz\n%s  node-v1-linux-x64.tar.xz\n' "$(printf 'a%.0s' {1..64})" "$sum" >"$FS_CACHE/SHASUMS256.txt"
  run fs_sum_from_list "$FS_CACHE/SHASUMS256.txt" node-v1-linux-x64.tar.xz
  assert_output "$sum"
  run fs_sum_from_list "$FS_CACHE/SHASUMS256.txt" missing.tar.xz
  assert_failure
  run fs_verify_published "$FS_CACHE/node-v1-linux-x64.tar.xz" "$sum" "$(printf 'b%.0s' {1..64})"
  assert_failure
  assert_output --partial "differs from upstream's published one"
  run fs_verify_published "$FS_CACHE/node-v1-linux-x64.tar.xz" "$sum" ""
  assert_success
  run fs_verify_pinned "$FS_CACHE/node-v1-linux-x64.tar.xz" "" FOUNDRY_SHA256
  assert_failure
  assert_output --partial "set FOUNDRY_SHA256"
}

@test "common.sh: downloads are HTTPS only and go through a temporary file" {
  sandbox
  run fs_download http://example.invalid/x "$FS_CACHE/x"
  assert_failure
  assert_output --partial "refusing a non-HTTPS download"
  assert_equal "$(stub_count '^curl')" 0
  run fs_download https://example.invalid/x "$FS_CACHE/x"
  assert_failure  # the curl stub answers 404: nothing (not even a partial file) is kept
  grep -q "^curl -fsSL --proto =https --tlsv1.2 --retry 3 --retry-delay 2 -o $FS_CACHE/x.part https://example.invalid/x$" "$STUB_DIR/calls"
  [[ ! -e $FS_CACHE/x ]]
}

@test "forge-verify reports every tool and fails when one is missing" {
  sandbox
  mkdir -p "$BATS_TEST_TMPDIR/fakebin"
  sed "s|/opt/forge-shield/versions.env|$FS_ROOT/versions.env|" "$FS/files/bin/forge-verify" >"$BATS_TEST_TMPDIR/forge-verify"
  chmod +x "$BATS_TEST_TMPDIR/forge-verify"
  # shellcheck source=infra/lxc/templates/forge-shield/files/versions.env
  source "$FS_ROOT/versions.env"
  printf '#!/bin/sh\necho v%s\n' "$NODE_VERSION" >"$BATS_TEST_TMPDIR/fakebin/node"
  chmod +x "$BATS_TEST_TMPDIR/fakebin/node"
  PATH=$BATS_TEST_TMPDIR/fakebin:$PATH HOME=$BATS_TEST_TMPDIR run "$BATS_TEST_TMPDIR/forge-verify"
  assert_failure
  assert_line --regexp "^ok +node +v$NODE_VERSION$"
  assert_line --regexp "^FAIL +forge "
}
