# shellcheck shell=bash
# Shared set-up for the infra bats suites: an isolated PATH whose Proxmox tools (and curl, wget, ssh, scp,
# sleep) are recording stubs (stubs/stub), a private state dir, and helpers to inject answers and failures.

bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

REPO_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
DEPLOY=$REPO_ROOT/infra/lxc/deploy.sh
STUB_COMMANDS=(pct pvesh pveam qm curl wget ssh scp sleep)
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
