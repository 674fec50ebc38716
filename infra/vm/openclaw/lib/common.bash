# shellcheck shell=bash
# Shared by create-vm.sh and run-scripts.sh: logging on fd 3/4, an ERR trap that explains, template.conf.

# shellcheck disable=SC2034  # used by the scripts that source this file
VM_EXIT_USAGE=2 VM_EXIT_DEPENDENCY=3 VM_EXIT_CONFIG=4 VM_EXIT_FAILED=10
declare -gA VM_CONF=()
VM_STEP=setup

# fd 3 = terminal (stderr), fd 4 = log file (or /dev/null).
vm_log_open() {
  exec 3>&2
  if [[ -n ${1:-} ]]; then
    mkdir -p "$(dirname "$1")"
    exec 4>>"$1"
  else
    exec 4>/dev/null
  fi
}

# A progress line on the terminal and in the log.
vm_log() {
  printf '%s\n' "$*" >&3
  printf '%s %s\n' "$(date -u +%FT%TZ)" "$*" >&4
}

# Print an error (and hints) and exit with CODE.
vm_die() {
  local code=$1
  shift
  trap - ERR
  printf 'error: %s\n' "$1" >&3
  printf '%s ERROR %s\n' "$(date -u +%FT%TZ)" "$1" >&4
  shift
  local hint
  for hint in "$@"; do printf '  %s\n' "$hint" >&3; done
  exit "$code"
}

# ERR trap: which step and command failed, and what to do.
vm_on_error() {
  local status=$? command=$BASH_COMMAND
  trap - ERR
  printf 'error: step %s failed: %s exited with status %s\n' "$VM_STEP" "$command" "$status" >&3
  if declare -F vm_failure_hint >/dev/null; then vm_failure_hint >&3; fi
  exit "$VM_EXIT_FAILED"
}

# Read KEY=value lines of FILE into VM_CONF (keys checked, values never evaluated).
vm_conf_load() {
  local file=$1 line key value n=0
  [[ -f $file ]] || vm_die "$VM_EXIT_CONFIG" "config file $file not found"
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    line=${line%%#*}
    line=${line%"${line##*[![:space:]]}"}
    [[ -n $line ]] || continue
    [[ $line =~ ^([A-Z][A-Z0-9_]*)=(.*)$ ]] || vm_die "$VM_EXIT_CONFIG" "$file:$n: expected KEY=value"
    key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
    VM_CONF[$key]=$value
  done <"$file"
}

# Print the value of a required config KEY (exit 4 when missing).
vm_conf() {
  [[ -n ${VM_CONF[$1]:-} ]] || vm_die "$VM_EXIT_CONFIG" "template.conf: $1 is not set"
  printf '%s' "${VM_CONF[$1]}"
}

# Print COMMAND… as a shell line (each word quoted when needed).
vm_quote() {
  local word out=''
  for word in "$@"; do
    if [[ $word =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then out+=${out:+ }$word; else out+=${out:+ }$(printf '%q' "$word"); fi
  done
  printf '%s' "$out"
}

# Run COMMAND… (or print it with VM_DRY_RUN=1); output to the log.
vm_run() {
  if ((${VM_DRY_RUN:-0})); then
    printf '  %s\n' "$(vm_quote "$@")"
    return 0
  fi
  printf '%s + %s\n' "$(date -u +%FT%TZ)" "$(vm_quote "$@")" >&4
  "$@" >&4 2>&1
}
