# shellcheck shell=bash
# Shared set-up for the infra bats suites: an isolated PATH whose Proxmox tools (and curl, wget, ssh, scp,
# sleep) are recording stubs (stubs/stub), a private state dir, and helpers to inject answers and failures.

bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

REPO_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
DEPLOY=$REPO_ROOT/infra/lxc/deploy.sh
STUB_COMMANDS=(pct pvesh pveam pvesm qm curl wget ssh scp sleep)
# Commands a dry run may call: they only read.
READ_ONLY_CALLS='^(pvesh get |pveam (list|available) |pct (status|config) )'

# Build the stub bin folder and the isolated PATH; call from setup().
stub_setup() {
  export STUB_DIR=$BATS_TEST_TMPDIR/stub
  mkdir -p "$STUB_DIR/bin"
  : >"$STUB_DIR/calls"
  local cmd
  for cmd in "${STUB_COMMANDS[@]}"; do
    ln -sf "$BATS_TEST_DIRNAME/stubs/stub" "$STUB_DIR/bin/$cmd"
  done
  export PATH=$STUB_DIR/bin:/usr/bin:/bin
  export STATE_DIR=$BATS_TEST_TMPDIR/state
  export LXC_PYTHON=${LXC_TEST_PYTHON:-/usr/bin/python3}
  export LXC_NETWORK_TIMEOUT=3 LXC_VERIFY_ATTEMPTS=2 LXC_VERIFY_INTERVAL=0
  unset LXC_TEMPLATES_DIR LXC_BUCKETS_DIR
}

# Answer (or fail) calls of CMD whose joined argv matches GLOB: stub_rule CMD GLOB NTH STATUS [STDOUT] [STDERR].
stub_rule() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:-}" "${6:-}" >>"$STUB_DIR/rules"
}

# Drop every rule (e.g. before a --resume run).
stub_clear_rules() {
  rm -f "$STUB_DIR/rules" "$STUB_DIR"/count.*
}

# The recorded calls (optionally only those of CMD).
stub_calls() {
  if [[ -n ${1:-} ]]; then grep -E "^$1( |$)" "$STUB_DIR/calls" || true; else cat "$STUB_DIR/calls"; fi
}

# How many recorded calls match the extended regex $1.
stub_count() {
  grep -cE -- "$1" "$STUB_DIR/calls" || true
}

# Forget the recorded calls (keeps the fake containers).
stub_reset_calls() {
  : >"$STUB_DIR/calls"
}

# Run the engine with the test state dir: deploy_run ARGS… (sets status/output/stderr like bats run).
deploy_run() {
  run --separate-stderr "$DEPLOY" "$@" --state-dir "$STATE_DIR"
}

# The only state file in the state dir.
state_file() {
  local files=("$STATE_DIR"/*.state)
  [[ ${#files[@]} -eq 1 && -f ${files[0]} ]] || { echo "expected one state file, got: ${files[*]}" >&2; return 1; }
  printf '%s' "${files[0]}"
}

# A copy of the repository's templates and buckets under the test dir, for tests that edit them.
copy_templates() {
  mkdir -p "$BATS_TEST_TMPDIR/lxc"
  cp -R "$REPO_ROOT/infra/lxc/templates" "$REPO_ROOT/infra/lxc/buckets" "$BATS_TEST_TMPDIR/lxc/"
  export LXC_TEMPLATES_DIR=$BATS_TEST_TMPDIR/lxc/templates
}

# Calls that change something (everything except read-only queries and the verify/network probes).
mutating_calls() {
  grep -vE "$READ_ONLY_CALLS" "$STUB_DIR/calls" |
    grep -vE '^pct exec [0-9]+ -- (ip -4|systemctl is-active|ss -H|curl -fsS|cat )' || true
}

# Assert that each extended regex matches a recorded call, each after the previous one.
assert_call_order() {
  local pattern last=0 n
  for pattern in "$@"; do
    n=$(grep -nE -- "$pattern" "$STUB_DIR/calls" | awk -F: -v last="$last" '$1 > last {print $1; exit}')
    if [[ -z $n ]]; then
      echo "no call matching /$pattern/ after call #$last; calls were:" >&2
      cat -n "$STUB_DIR/calls" >&2
      return 1
    fi
    last=$n
  done
}

# Assert every line of $output is a JSON event of the documented shape.
assert_json_events() {
  # shellcheck disable=SC2154  # output is set by bats' run
  printf '%s\n' "$output" | /usr/bin/python3 "$BATS_TEST_DIRNAME/check_events.py"
}

# Fail when grep finds the pattern (a bare `! grep` would not fail a bats test in the middle of it).
refute_grep() {
  if grep -q "$@"; then
    echo "unexpectedly found: grep $*" >&2
    return 1
  fi
}
