#!/usr/bin/env bats
# The deploy engine against stubbed pct/pvesh/pveam: plan, call order, events, errors, secrets, VMID retry.

# shellcheck disable=SC2154  # status, output, stderr and lines are set by bats' run
setup() {
  load test_helper
  stub_setup
}

@test "--help prints the usage block with the exit codes" {
  run "$DEPLOY" --help
  assert_success
  assert_output --partial "Usage: deploy.sh TEMPLATE [options]"
  assert_output --partial "--dry-run"
  assert_output --partial "Exit codes:"
  refute_output --partial "set -Eeuo"
}

@test "usage errors exit 2" {
  run --separate-stderr "$DEPLOY" minimal --frobnicate
  assert_equal "$status" 2
  [[ $stderr == *"unknown option --frobnicate"* ]]
  run --separate-stderr "$DEPLOY"
  assert_equal "$status" 2
  [[ $stderr == *"missing TEMPLATE"* ]]
  run --separate-stderr "$DEPLOY" minimal --vmid 12
  assert_equal "$status" 2
  run --separate-stderr "$DEPLOY" minimal --resume --set greeting=x
  assert_equal "$status" 2
  [[ $stderr == *"--resume reuses"* ]]
  assert_equal "$(stub_calls)" ""
}

@test "a missing template exits 4 and lists the available ones" {
  deploy_run no-such-template
  assert_equal "$status" 4
  [[ $stderr == *"template 'no-such-template' not found"* ]]
  [[ $stderr == *"minimal"* ]]
  assert_equal "$(stub_calls)" ""
  [[ ! -e $STATE_DIR ]]
}

@test "an invalid template exits 4 with file, line and field" {
  copy_templates
  sed -i 's/^  cores: 1/  cores: 0/' "$LXC_TEMPLATES_DIR/minimal/template.yaml"
  deploy_run minimal
  assert_equal "$status" 4
  [[ $stderr == *"template.yaml:"*"container.cores"* ]]
  [[ $stderr == *"minimum"* ]]
  assert_equal "$(stub_calls)" ""
}

@test "an unknown key in template.yaml is refused (no silent typo)" {
  copy_templates
  sed -i 's/^  memory: 512/  memroy: 512/' "$LXC_TEMPLATES_DIR/minimal/template.yaml"
  deploy_run minimal --dry-run
  assert_equal "$status" 4
  [[ $stderr == *"container.memroy"* ]]
}

@test "a script listed in the manifest but missing from scripts/ exits 4" {
  copy_templates
  rm "$LXC_TEMPLATES_DIR/minimal/scripts/10-web.sh"
  deploy_run minimal --dry-run
  assert_equal "$status" 4
  [[ $stderr == *"scripts/10-web.sh: no such file"* ]]
}

@test "bad --set values exit 5 before anything is touched" {
  deploy_run minimal --set nope=1
  assert_equal "$status" 5
  [[ $stderr == *"--set nope: the template has no such input"* ]]
  deploy_run minimal --set greeting=
  assert_equal "$status" 5
  [[ $stderr == *"--set greeting: value must be at least 1 characters"* ]]
  deploy_run minimal --set admin_password=short
  assert_equal "$status" 5
  [[ $stderr == *"--set admin_password: value must be at least 12 characters"* ]]
  [[ $stderr != *short* ]]
  assert_equal "$(stub_calls)" ""
  [[ ! -e $STATE_DIR ]]
}

@test "typed inputs: int and bool values are checked" {
  copy_templates
  cat >>"$LXC_TEMPLATES_DIR/minimal/template.yaml" <<'YAML'
  - name: workers
    type: int
    min: 1
    max: 8
    default: 2
  - name: debug
    type: bool
    default: false
  - name: flavour
    type: enum
    choices: [small, large]
    default: small
YAML
  deploy_run minimal --dry-run --set workers=9
  assert_equal "$status" 5
  [[ $stderr == *"--set workers: value must be ≤ 8"* ]]
  deploy_run minimal --dry-run --set workers=two
  assert_equal "$status" 5
  deploy_run minimal --dry-run --set debug=maybe
  assert_equal "$status" 5
  [[ $stderr == *"must be true or false"* ]]
  deploy_run minimal --dry-run --set flavour=huge
  assert_equal "$status" 5
  deploy_run minimal --dry-run --set workers=4 --set debug=yes --set flavour=large
  assert_success
  [[ $output == *"workers=4 debug=true flavour=large"* ]]
}

@test "missing python3 exits 3 with an install hint" {
  LXC_PYTHON=/nonexistent/python3 deploy_run minimal
  assert_equal "$status" 3
  [[ $stderr == *"python3 is required"* ]]
  [[ $stderr == *"apt-get install -y python3 python3-yaml"* ]]
  assert_equal "$(stub_calls)" ""
}

@test "python3 without PyYAML exits 3 with an install hint" {
  printf '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n' >"$BATS_TEST_TMPDIR/python3-noyaml"
  chmod +x "$BATS_TEST_TMPDIR/python3-noyaml"
  LXC_PYTHON=$BATS_TEST_TMPDIR/python3-noyaml deploy_run minimal
  assert_equal "$status" 3
  [[ $stderr == *"no PyYAML"* ]]
  [[ $stderr == *"apt-get install -y python3-yaml"* ]]
}

@test "--dry-run prints the exact plan and only calls read-only commands" {
  deploy_run minimal --dry-run --set greeting=Hi
  assert_success
  [[ $output == *"Plan (dry run: nothing is changed)"* ]]
  [[ $output == *"pct create 100 local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst --hostname minimal --cores 1 --memory 512 --swap 256 --rootfs local-lvm:4 --unprivileged 1 --onboot 0 --features nesting=1 --net0 name=eth0,bridge=vmbr0,ip=dhcp,ip6=auto --tags "* ]]
  [[ $output == *"pct start 100"* ]]
  [[ $output == *"apt-get -q -y -o Acquire::Retries=3"*"install ca-certificates curl iproute2 procps python3"* ]]
  [[ $output == *"pct push 100 "*"/files/minimal-web.service /etc/systemd/system/minimal-web.service --perms 0644 --user root --group root"* ]]
  [[ $output == *"pct exec 100 -- env LXCM_VMID=100 /root/.lxc-deploy/run /root/.lxc-deploy/scripts/10-web.sh"* ]]
  [[ $output == *"pct exec 100 -- systemctl is-active --quiet minimal-web.service"* ]]
  [[ $output == *"curl -fsS -k -o /dev/null --max-time 10 http://127.0.0.1:8080/"* ]]
  [[ $output == *"greeting=Hi admin_password=********"* ]]
  run mutating_calls
  assert_output ""
  [[ -s $STUB_DIR/calls ]]
  [[ ! -e $STATE_DIR ]]
  [[ ! -d $STUB_DIR/ct/100 ]]
}

@test "--dry-run --json emits plan events and a planned result" {
  deploy_run minimal --dry-run --json
  assert_success
  assert_json_events
  [[ $output == *'"type":"log","phase":"create","status":"plan","message":"pct create 100 '* ]]
  [[ ${lines[-1]} == *'"type":"result"'*'"status":"planned"'* ]]
  run mutating_calls
  assert_output ""
}

@test "a full deploy of minimal runs every step in order" {
  deploy_run minimal --set greeting=Hello
  assert_success
  assert_call_order \
    '^pveam list local$' \
    '^pvesh get /cluster/nextid' \
    '^pct create 100 local:vztmpl/debian-12-standard_12\.7-1_amd64\.tar\.zst --hostname minimal ' \
    '^pct start 100$' \
    '^pct exec 100 -- ip -4 -o addr show scope global$' \
    '^pct exec 100 -- mkdir -p -m 0700 /root/\.lxc-deploy ' \
    '^pct push 100 \S+/lib/ct-runner\.sh /root/\.lxc-deploy/run --perms 0700' \
    '^pct push 100 \S+/inputs/env /root/\.lxc-deploy/env --perms 0600' \
    '^pct push 100 \S+/inputs/secrets/admin_password /root/\.lxc-deploy/secrets/admin_password --perms 0600' \
    '^pct exec 100 -- env LXCM_VMID=100 /root/\.lxc-deploy/run /root/\.lxc-deploy/hooks/wait-network\.sh$' \
    '^pct push 100 \S+/files/index\.html /srv/www/index\.html' \
    '^pct push 100 \S+/files/minimal-web\.service /etc/systemd/system/minimal-web\.service --perms 0644 --user root --group root$' \
    '^pct exec 100 -- env DEBIAN_FRONTEND=noninteractive apt-get .* update$' \
    '^pct exec 100 -- env DEBIAN_FRONTEND=noninteractive apt-get .* install ca-certificates curl iproute2 procps python3$' \
    '^pct exec 100 -- env LXCM_VMID=100 /root/\.lxc-deploy/run /root/\.lxc-deploy/scripts/10-web\.sh$' \
    '^pct exec 100 -- systemctl is-active --quiet minimal-web\.service$' \
    '^pct exec 100 -- ss -H -ltn sport = :8080$' \
    '^pct exec 100 -- curl -fsS -k -o /dev/null --max-time 10 http://127\.0\.0\.1:8080/$' \
    '^pct exec 100 -- cat /etc/minimal-web/admin_password$' \
    '^pct exec 100 -- rm -rf -- /root/\.lxc-deploy$'
  assert_equal "$(stub_count '^pct create')" 1
  local state
  state=$(state_file)
  grep -qx 'status=succeeded' "$state"
  grep -qx 'vmid=100' "$state"
  grep -qx 'ip=10.0.3.102' "$state"
  # The container is stamped with the deploy id (tag + description).
  local id
  id=$(sed -n 's/^deploy_id=//p' "$state")
  grep -q "^tags: lxcm;debian;demo;web;lxcm-$id$" "$STUB_DIR/ct/100/config"
  grep -q "deploy id $id" "$STUB_DIR/ct/100/config"
  # The env file reached the container; the inputs are removed from the host afterwards.
  grep -qx "export INPUT_GREETING=Hello" "$STUB_DIR/ct/100/rootfs/root/.lxc-deploy/env"
  [[ ! -e $STATE_DIR/$id.d/inputs ]]
  [[ $(stat -c %a "$STATE_DIR/$id.d/credentials/admin_password") == 600 ]]
  [[ $stderr == *"web UI: http://10.0.3.102:8080/"* ]]
}

@test "--json emits phase events in order and a final result" {
  deploy_run minimal --json
  assert_success
  assert_json_events
  run bash -c "printf '%s\n' \"\$1\" | grep '\"type\":\"phase\"' | sed -E 's/.*\"phase\":\"([a-z]+)\",\"status\":\"([a-z]+)\".*/\1:\2/' | paste -sd' '" _ "$output"
  assert_output "create:running create:succeeded start:running start:succeeded provision:running provision:succeeded verify:running verify:succeeded finalize:running finalize:succeeded"
  deploy_run minimal --json
  [[ ${lines[-1]} == '{"type":"result","phase":"finalize","status":"succeeded",'*'"vmid":"101"'*'"exit_code":0}' ]]
  [[ $output == *'"status":"output","message":"ran in CT 101: env LXCM_VMID=101 /root/.lxc-deploy/run /root/.lxc-deploy/scripts/10-web.sh"'* ]]
}

@test "secret inputs never reach argv, the log, the output or the plan" {
  # shellcheck disable=SC2016  # the $(…) is part of the secret on purpose: it must never be expanded
  local secret='S3cret-Value-xyz"$(touch /tmp/pwned)'
  deploy_run minimal --json --set "admin_password=$secret"
  assert_success
  local id
  id=$(sed -n 's/^deploy_id=//p' "$(state_file)")
  refute_grep -F -- "$secret" "$STUB_DIR/calls"
  refute_grep -F -- "S3cret" "$STATE_DIR/$id.log"
  refute_grep -F -- "S3cret" "$STATE_DIR/$id.d/plan.json"
  refute_grep -F -- "S3cret" "$STATE_DIR/$id.state"
  [[ $output != *S3cret* && $stderr != *S3cret* ]]
  refute_grep -F -- "S3cret" "$STUB_DIR/ct/100/rootfs/root/.lxc-deploy/env"
  # The value travelled as a 0600 file, named by INPUT_ADMIN_PASSWORD_FILE.
  assert_equal "$(cat "$STUB_DIR/ct/100/rootfs/root/.lxc-deploy/secrets/admin_password")" "$secret"
  grep -q '^pct push 100 \S*/inputs/secrets/admin_password /root/.lxc-deploy/secrets/admin_password --perms 0600' "$STUB_DIR/calls"
  # shellcheck disable=SC2016  # the env file holds this literal text
  grep -qx 'export INPUT_ADMIN_PASSWORD_FILE="$LXCM_INPUTS_DIR/secrets/admin_password"' "$STUB_DIR/ct/100/rootfs/root/.lxc-deploy/env"
  [[ ! -e /tmp/pwned ]]
}

@test "a generated password is created when none is given and kept out of the log" {
  deploy_run minimal
  assert_success
  local pw
  pw=$(cat "$STUB_DIR/ct/100/rootfs/root/.lxc-deploy/secrets/admin_password")
  [[ ${#pw} -ge 24 ]]
  refute_grep -rF -- "$pw" "$STATE_DIR" "$STUB_DIR/calls"
}

@test "'already exists' on create retries with a fresh VMID" {
  mkdir -p "$STUB_DIR/ct/100"
  printf 'stopped\n' >"$STUB_DIR/ct/100/status"
  printf 'tags: someone-else\n' >"$STUB_DIR/ct/100/config"
  stub_rule pvesh 'get /cluster/nextid*' 1 0 '"100"\n'
  deploy_run minimal
  assert_success
  assert_call_order '^pct create 100 ' '^pvesh get /cluster/nextid' '^pct create 101 ' '^pct start 101$'
  [[ $stderr == *"VMID 100 was taken meanwhile; retrying with a new id"* ]]
  grep -qx 'vmid=101' "$(state_file)"
  # The foreign container was never touched.
  assert_equal "$(stub_count '^pct (start|exec|push) 100')" 0
}

@test "an explicit --vmid that already exists fails with exit 10 and is not touched" {
  mkdir -p "$STUB_DIR/ct/150"
  printf 'stopped\n' >"$STUB_DIR/ct/150/status"
  deploy_run minimal --vmid 150
  assert_equal "$status" 10
  [[ $stderr == *"VMID 150 exists and was not created by this deploy"* ]]
  assert_equal "$(stub_count '^pct (start|exec|push|destroy) 150')" 0
}

@test "pct create failing exits 10 with the reason, the log and the resume command" {
  stub_rule pct 'create *' '*' 255 '' 'storage local-lvm does not exist\n'
  deploy_run minimal
  assert_equal "$status" 10
  [[ $stderr == *"pct create failed (exit 255): storage local-lvm does not exist"* ]]
  [[ $stderr == *"resume: "*"deploy.sh minimal --resume --deploy-id minimal-"* ]]
  local state
  state=$(state_file)
  grep -qx 'status=failed' "$state"
  grep -qx 'failed_step=create' "$state"
  grep -qx 'exit_code=10' "$state"
}

@test "the OS template is downloaded with pveam when it is not on the storage" {
  stub_rule pveam 'list local' '*' 0 'NAME   SIZE\n'
  deploy_run minimal --ostemplate-storage local
  assert_success
  assert_call_order '^pveam list local$' '^pveam available --section system$' \
    '^pveam download local debian-12-standard_12\.7-1_amd64\.tar\.zst$' \
    '^pct create 100 local:vztmpl/debian-12-standard_12\.7-1_amd64\.tar\.zst '
}

@test "--storage, --bridge and --hostname reach pct create" {
  deploy_run minimal --storage fast-zfs --bridge vmbr1 --hostname web-01
  assert_success
  grep -qE '^pct create 100 \S+ --hostname web-01 .*--rootfs fast-zfs:4 .*--net0 name=eth0\\,bridge=vmbr1\\,ip=dhcp' "$STUB_DIR/calls"
}

@test "--node runs every Proxmox command on that node through ssh, quoting intact" {
  # shellcheck disable=SC2016  # a literal $(x): quoting through ssh must keep it inert
  STUB_SSH_EXEC=1 deploy_run minimal --node pve-other --set 'greeting=two words; $(x)'
  assert_success
  grep -q '^ssh -o BatchMode=yes -- root@pve-other pct\\ create\\ 100' "$STUB_DIR/calls"
  grep -q '^scp ' "$STUB_DIR/calls"
  # The description (spaces, ';') reached pct as one argument.
  grep -q "^pct create 100 .* --description Deployed\\\\ by\\\\ lxc\\\\ deploy.sh" "$STUB_DIR/calls"
  grep -qx 'node=pve-other' "$(state_file)"
  local id
  id=$(sed -n 's/^deploy_id=//p' "$(state_file)")
  rm -rf "/tmp/lxc-deploy-$id"
}

@test "a failing verify exits 13 and names the unit" {
  stub_rule pct 'exec * -- systemctl is-active*' '*' 3
  deploy_run minimal
  assert_equal "$status" 13
  [[ $stderr == *"service web: unit minimal-web.service is not active in container 100"* ]]
  [[ $stderr == *"journalctl -u minimal-web.service"* ]]
  grep -qx 'failed_step=verify' "$(state_file)"
}

@test "a failing script exits 12 and names the script" {
  stub_rule pct 'exec *10-web.sh' '*' 7 '' 'boom\n'
  deploy_run minimal
  assert_equal "$status" 12
  [[ $stderr == *"script 10-web.sh failed with exit status 7 in container 100"* ]]
  grep -q 'boom' "$STATE_DIR"/*.log
}

@test "package pins: an extra pin wins over a bucket's, two buckets pinning differently is an error" {
  copy_templates
  printf 'format: 1\nname: pinned\npackages: [curl=7.88*, jq]\n' >"$BATS_TEST_TMPDIR/lxc/buckets/pinned.yaml"
  printf 'format: 1\nname: other\npackages: [curl=8.0*]\n' >"$BATS_TEST_TMPDIR/lxc/buckets/other.yaml"
  sed -i 's/^  buckets: \[base\]/  buckets: [base, pinned]/; s/^  extra: \[python3\]/  extra: [python3, jq=1.6*]/' \
    "$LXC_TEMPLATES_DIR/minimal/template.yaml"
  deploy_run minimal --dry-run
  assert_success
  [[ $output == *"install ca-certificates curl=7.88\* iproute2 procps jq=1.6\* python3"* ]]
  sed -i 's/^  buckets: \[base, pinned\]/  buckets: [base, pinned, other]/' "$LXC_TEMPLATES_DIR/minimal/template.yaml"
  deploy_run minimal --dry-run
  assert_equal "$status" 4
  [[ $stderr == *"package curl is pinned as 'curl=7.88*' in bucket pinned and 'curl=8.0*' in bucket other"* ]]
}

# shellcheck disable=SC2016  # the scripts written here keep their $ literal on purpose
@test "host hooks run on the host in order with the inputs (secrets as files) and the VMID" {
  copy_templates
  local t=$LXC_TEMPLATES_DIR/minimal out=$BATS_TEST_TMPDIR/hook.out
  printf '#!/bin/sh\necho "pre vmid=${LXCM_VMID:-} greeting=$INPUT_GREETING pw=$(cat "$INPUT_ADMIN_PASSWORD_FILE")" >>%s\n' "$out" >"$t/hooks/pre.sh"
  printf '#!/bin/sh\necho "post vmid=$LXCM_VMID id=$LXCM_DEPLOY_ID" >>%s\n' "$out" >"$t/hooks/post.sh"
  sed -i 's/^hooks:$/hooks:\n  pre-create: [pre.sh]\n  post-create: [post.sh]/' "$t/template.yaml"
  deploy_run minimal --set greeting=Hey --set admin_password=hook-secret-123
  assert_success
  local id
  id=$(sed -n 's/^deploy_id=//p' "$(state_file)")
  run cat "$out"
  assert_line --index 0 "pre vmid= greeting=Hey pw=hook-secret-123"
  assert_line --index 1 "post vmid=100 id=$id"
  refute_grep -F 'hook-secret-123' "$STATE_DIR/$id.log"
  grep -qx 'step.hook.pre-create.pre.sh=done' "$(state_file)"
}

@test "scripts omitted from the manifest run in lexical order; a template without packages or services deploys" {
  copy_templates
  local t=$LXC_TEMPLATES_DIR/minimal
  printf '#!/bin/sh\ntrue\n' >"$t/scripts/05-first.sh"
  printf '#!/bin/sh\ntrue\n' >"$t/scripts/99-last.sh"
  python3 - "$t/template.yaml" <<'PY'
import sys, yaml
path = sys.argv[1]
data = yaml.safe_load(open(path))
for key in ("scripts", "services", "credentials", "packages"):
    data.pop(key)
open(path, "w").write(yaml.safe_dump(data))
PY
  deploy_run minimal
  assert_success
  assert_call_order 'scripts/05-first\.sh$' 'scripts/10-web\.sh$' 'scripts/99-last\.sh$'
  assert_equal "$(stub_count 'apt-get|systemctl|curl -fsS')" 0
  [[ $stderr == *"no packages to install"* && $stderr == *"no services declared"* ]]
}

@test "a template given as a path deploys, and its folder name must equal its name" {
  copy_templates
  deploy_run "$LXC_TEMPLATES_DIR/minimal" --dry-run
  assert_success
  mv "$LXC_TEMPLATES_DIR/minimal" "$LXC_TEMPLATES_DIR/renamed"
  deploy_run "$LXC_TEMPLATES_DIR/renamed" --dry-run
  assert_equal "$status" 4
  [[ $stderr == *"'minimal' must equal the folder name 'renamed'"* ]]
}

# shellcheck disable=SC2016  # the scripts written here keep their $ literal on purpose
@test "the container runner loads the env file, exposes secret files and the output file, and runs any script" {
  local dir=$BATS_TEST_TMPDIR/ct
  mkdir -p "$dir/secrets"
  printf 'export INPUT_GREETING=%q\nexport INPUT_PW_FILE="$LXCM_INPUTS_DIR/secrets/pw"\n' 'a b; $(x)' >"$dir/env"
  printf 'pw-value' >"$dir/secrets/pw"
  printf '#!/usr/bin/env bash\necho "g=$INPUT_GREETING pw=$(cat "$INPUT_PW_FILE") arg=$1"\necho K=v >>"$LXCM_OUTPUT_FILE"\n' >"$dir/noexec.sh"
  printf 'echo "plain sh: $INPUT_GREETING"\n' >"$dir/plain.sh"
  run "$REPO_ROOT/infra/lxc/lib/ct-runner.sh" --env "$dir/env" "$dir/noexec.sh" one
  assert_success
  assert_output 'g=a b; $(x) pw=pw-value arg=one'
  assert_equal "$(cat "$dir/outputs")" "K=v"
  run "$REPO_ROOT/infra/lxc/lib/ct-runner.sh" --env "$dir/env" "$dir/plain.sh"
  assert_output 'plain sh: a b; $(x)'
  run "$REPO_ROOT/infra/lxc/lib/ct-runner.sh"
  assert_equal "$status" 2
}

@test "--set-file reads a secret from a file: never in argv, log or state" {
  printf 'from-file-Secret-9\n' >"$BATS_TEST_TMPDIR/pw"
  deploy_run minimal --set-file "admin_password=$BATS_TEST_TMPDIR/pw"
  assert_success
  assert_equal "$(cat "$STUB_DIR/ct/100/rootfs/root/.lxc-deploy/secrets/admin_password")" "from-file-Secret-9"
  refute_grep -rF 'from-file-Secret' "$STUB_DIR/calls" "$STATE_DIR"
  deploy_run minimal --set-file "admin_password=$BATS_TEST_TMPDIR/missing"
  assert_equal "$status" 2
  [[ $stderr == *"--set-file admin_password: cannot read"* ]]
}

@test "an unexpected command failure is explained by the ERR trap: step, command, status, log, resume" {
  stub_rule scp '*' '*' 1 '' 'lost connection\n'
  STUB_SSH_EXEC=1 deploy_run minimal --node pve-other
  assert_equal "$status" 11
  [[ $stderr == *"step 'runtime' failed: command 'node_src=\$(lxc_pve_source \"\$src\")' exited with status 1"* ]]
  [[ $stderr == *"  log:    $STATE_DIR/minimal-"*".log"* ]]
  [[ $stderr == *"  resume: "*"--resume --deploy-id minimal-"* ]]
  grep -qx 'failed_step=runtime' "$(state_file)"
  local id
  id=$(sed -n 's/^deploy_id=//p' "$(state_file)")
  rm -rf "/tmp/lxc-deploy-$id"
}
