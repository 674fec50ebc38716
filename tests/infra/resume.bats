#!/usr/bin/env bats
# Resume: a deploy that fails at step k, re-run with --resume, continues at k — never re-creating the
# container and never repeating a finished step.

# shellcheck disable=SC2154  # status, output, stderr and lines are set by bats' run
setup() {
  load test_helper
  stub_setup
}

# Fail every call of CMD matching GLOB, expect exit WANT; then --resume and expect success with the first
# state-changing call matching FIRST and no call matching NOT_AGAIN (steps done before the failure).
resume_case() {
  local cmd=$1 glob=$2 want=$3 step=$4 first=$5 not_again=$6
  stub_rule "$cmd" "$glob" '*' 1 '' 'injected failure\n'
  deploy_run minimal
  assert_equal "$status" "$want"
  grep -qx "failed_step=$step" "$(state_file)"
  grep -qx 'status=failed' "$(state_file)"
  [[ $stderr == *"resume: "*"--resume --deploy-id minimal-"* ]]

  stub_clear_rules
  stub_reset_calls
  deploy_run minimal --resume
  assert_success
  grep -qx 'status=succeeded' "$(state_file)"
  run mutating_calls
  [[ ${lines[0]} =~ $first ]] || { echo "first change after resume: '${lines[0]}', expected /$first/" >&2; return 1; }
  if [[ -n $not_again ]]; then
    refute_grep -E -- "$not_again" "$STUB_DIR/calls"
  fi
  # Exactly one container exists, created once over both runs.
  assert_equal "$(find "$STUB_DIR/ct" -mindepth 1 -maxdepth 1 -type d | wc -l)" 1
}

@test "resume after a failure in create (pct create) creates the container once" {
  resume_case pct 'create *' 10 create '^pct create 100 ' ''
  assert_equal "$(stub_count '^pct create')" 1
}

@test "resume after a failure in start (pct start) does not re-create" {
  resume_case pct 'start *' 11 start '^pct start 100$' '^pct create'
}

@test "resume after the network never came up does not re-create" {
  resume_case pct 'exec * -- ip -4 *' 11 network '^pct exec 100 -- mkdir -p -m 0700 /root/.lxc-deploy' '^pct (create|start)'
}

@test "resume after pushing the runtime failed" {
  resume_case pct 'push * /root/.lxc-deploy/env *' 11 runtime '^pct exec 100 -- mkdir -p -m 0700 /root/.lxc-deploy' '^pct (create|start)'
}

@test "resume after a failing post-start hook" {
  resume_case pct 'exec *wait-network.sh' 11 hooks.post-start '^pct exec 100 -- mkdir -p /root/\.lxc-deploy/hooks$' \
    '^pct (create|start)|/root/\.lxc-deploy/env'
}

@test "resume after a failing file push" {
  resume_case pct 'push * /etc/systemd/system/minimal-web.service *' 12 files '^pct exec 100 -- mkdir -p /srv/www$' \
    '^pct (create|start)|wait-network\.sh$'
}

@test "resume after a failing package install" {
  resume_case pct 'exec * apt-get * install *' 12 packages '^pct exec 100 -- env DEBIAN_FRONTEND=noninteractive apt-get .* update$' \
    '^pct (create|start)|/files/'
}

@test "resume after a failing script" {
  resume_case pct 'exec *10-web.sh' 12 scripts '^pct exec 100 -- mkdir -p /root/\.lxc-deploy/scripts$' \
    '^pct (create|start)|apt-get|/files/'
}

@test "resume after a failing verify" {
  resume_case pct 'exec * -- systemctl is-active *' 13 verify '^pct exec 100 -- rm -rf -- /root/\.lxc-deploy$' \
    '^pct (create|start|push)|apt-get|10-web\.sh'
  assert_equal "$(stub_count '^pct exec 100 -- systemctl is-active')" 1
}

@test "resume after a failing credential capture" {
  resume_case pct 'exec * -- cat *' 14 credentials '^pct exec 100 -- rm -rf -- /root/\.lxc-deploy$' \
    '^pct (create|start|push)|apt-get|10-web\.sh|systemctl'
}

@test "a container created but not yet recorded is adopted by its tag, not created again" {
  stub_rule pct 'start *' '*' 1
  deploy_run minimal
  assert_equal "$status" 11
  sed -i '/^step.create=done$/d' "$(state_file)"
  stub_clear_rules
  stub_reset_calls
  deploy_run minimal --resume
  assert_success
  [[ $stderr == *"container 100 already exists and carries this deploy's tag"* ]]
  assert_equal "$(stub_count '^pct create')" 0
  grep -q '^pct config 100$' "$STUB_DIR/calls"
}

@test "a recorded VMID taken by someone else is not adopted" {
  stub_rule pct 'create *' '*' 1
  deploy_run minimal
  assert_equal "$status" 10
  # Meanwhile someone else created 100; the resumed deploy must pick another id.
  mkdir -p "$STUB_DIR/ct/100"
  printf 'stopped\n' >"$STUB_DIR/ct/100/status"
  printf 'tags: theirs\n' >"$STUB_DIR/ct/100/config"
  sed -i 's/^vmid=.*/vmid=100/' "$(state_file)"
  stub_clear_rules
  stub_reset_calls
  deploy_run minimal --resume
  assert_success
  assert_equal "$(stub_count '^pct (create|start|exec|push) 100 ')" 0
  grep -q '^pct create 101 ' "$STUB_DIR/calls"
}

@test "--resume with nothing to resume exits 6" {
  deploy_run minimal --resume
  assert_equal "$status" 6
  [[ $stderr == *"no unfinished deploy of template 'minimal'"* ]]
}

@test "--resume of a finished deploy exits 6" {
  deploy_run minimal
  assert_success
  local id
  id=$(sed -n 's/^deploy_id=//p' "$(state_file)")
  deploy_run minimal --resume --deploy-id "$id"
  assert_equal "$status" 6
  [[ $stderr == *"already finished successfully"* ]]
}

@test "a second resume after a second failure continues again" {
  stub_rule pct 'exec *10-web.sh' '*' 1
  deploy_run minimal
  assert_equal "$status" 12
  stub_clear_rules
  stub_rule pct 'exec * -- systemctl is-active *' '*' 3
  deploy_run minimal --resume
  assert_equal "$status" 13
  stub_clear_rules
  stub_reset_calls
  deploy_run minimal --resume
  assert_success
  refute_grep -E '10-web\.sh|^pct create' "$STUB_DIR/calls"
}

@test "Ctrl-C during provisioning exits 130, records the step, and --resume continues there" {
  STUB_SIGINT_ON='exec * apt-get * install *' run --separate-stderr setsid "$DEPLOY" minimal --state-dir "$STATE_DIR"
  assert_equal "$status" 130
  [[ $stderr == *"interrupted during step 'packages'"* ]]
  grep -qx 'failed_step=packages' "$(state_file)"
  grep -qx 'exit_code=130' "$(state_file)"
  stub_reset_calls
  deploy_run minimal --resume
  assert_success
  run mutating_calls
  [[ ${lines[0]} =~ apt-get\ .*\ update$ ]]
  assert_equal "$(stub_count '^pct create')" 0
}

@test "command output with invalid UTF-8 still gives valid JSON events" {
  stub_rule pct 'exec * apt-get * update' '*' 0 'Get:1 caf\xe9 \xff\xfe mirror\n'
  deploy_run minimal --json
  assert_success
  assert_json_events
  [[ $output == *'"message":"Get:1 caf  mirror"'* ]]
}

@test "resume starts the container again when it was stopped meanwhile" {
  stub_rule pct 'exec *10-web.sh' '*' 1
  deploy_run minimal
  assert_equal "$status" 12
  echo stopped >"$STUB_DIR/ct/100/status"
  stub_clear_rules
  stub_reset_calls
  deploy_run minimal --resume
  assert_success
  assert_call_order '^pct status 100$' '^pct start 100$' '10-web\.sh$'
  assert_equal "$(stub_count '^pct create')" 0
}
