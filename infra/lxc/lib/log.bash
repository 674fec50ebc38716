# shellcheck shell=bash
# Logging and progress events for the deploy engine.
#
# File descriptors (set up by lxc_log_open):
#   fd 3  the user's terminal (the original stderr): short human progress lines
#   fd 4  the log file (every command, its output and every message)
#   fd 6  the original stdout: JSON-lines events with --json, the plan with --dry-run, nothing otherwise.
#         (A separate fd, so events written inside $(…) are never captured by mistake.)

LXC_JSON=${LXC_JSON:-0}
LXC_VERBOSE=${LXC_VERBOSE:-0}
LXC_PHASE=${LXC_PHASE:-create}
LXC_LOG_FILE=${LXC_LOG_FILE:-}

# Point fd 3 at stderr, fd 6 at stdout and fd 4 at the log file (or /dev/null when none).
lxc_log_open() {
  local file=${1:-}
  exec 3>&2 6>&1
  if [[ -n $file ]]; then
    : >>"$file"
    chmod 0600 "$file"
    exec 4>>"$file"
    LXC_LOG_FILE=$file
  else
    exec 4>/dev/null
  fi
}

# Print the current UTC time in ISO 8601 into the variable named $1.
lxc_log_now() {
  local -n _lxc_now_out=$1
  local TZ=UTC
  printf -v _lxc_now_out '%(%Y-%m-%dT%H:%M:%SZ)T' -1
}

# Escape $1 as the body of a JSON string (without the quotes) into the variable named $2.
lxc_json_escape() {
  local s=$1 c i out=''
  local -n _lxc_json_out=$2
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  if [[ $s == *[$'\x01'-$'\x1f\x7f']* ]]; then
    for ((i = 0; i < ${#s}; i++)); do
      c=${s:i:1}
      if [[ $c == [$'\x01'-$'\x1f\x7f'] ]]; then
        printf -v c '\\u%04x' "'$c"
      fi
      out+=$c
    done
    s=$out
  fi
  _lxc_json_out=$s
}

# Emit one JSON-lines event on stdout (only with --json): TYPE STATUS MESSAGE [extra JSON members].
lxc_event() {
  ((LXC_JSON)) || return 0
  local type=$1 status=$2 message=$3 extra=${4:-} ts msg
  lxc_log_now ts
  lxc_json_escape "$message" msg
  printf '{"type":"%s","phase":"%s","status":"%s","message":"%s","ts":"%s"%s}\n' \
    "$type" "$LXC_PHASE" "$status" "$msg" "$ts" "${extra:+,$extra}" >&6
}

# Write a timestamped line to the log file.
lxc_log_write() {
  local ts
  lxc_log_now ts
  printf '%s [%s] %s\n' "$ts" "$LXC_PHASE" "$*" >&4
}

# An informational message: terminal (unless --json), log and a "log" event.
lxc_log_info() {
  lxc_log_write "$*"
  ((LXC_JSON)) || printf '%s\n' "$*" >&3
  lxc_event log info "$*"
}

# A warning: terminal, log and event.
lxc_log_warn() {
  lxc_log_write "WARNING: $*"
  printf 'warning: %s\n' "$*" >&3
  lxc_event log warn "$*"
}

# An error message (does not exit): terminal, log and event.
lxc_log_error() {
  lxc_log_write "ERROR: $*"
  printf 'error: %s\n' "$*" >&3
  lxc_event log error "$*"
}

# A detail that only goes to the log (and to the terminal with --verbose).
lxc_log_debug() {
  lxc_log_write "$*"
  if ((LXC_VERBOSE)) && ! ((LXC_JSON)); then printf '  %s\n' "$*" >&3; fi
}

# Copy stdin to stdout with invalid UTF-8 dropped (events must stay valid JSON); never fails.
lxc_log_utf8() {
  if command -v iconv >/dev/null 2>&1; then iconv -f UTF-8 -t UTF-8 -c 2>/dev/null || true; else cat; fi
}

# Read command output from stdin line by line into the log, as "output" events, and with --verbose the terminal.
lxc_log_stream() {
  local line
  lxc_log_utf8 | while IFS= read -r line || [[ -n $line ]]; do
    printf '    | %s\n' "$line" >&4
    if ((LXC_VERBOSE)) && ! ((LXC_JSON)); then printf '    | %s\n' "$line" >&3; fi
    lxc_event log output "$line"
  done
}

# Start a phase: remember it and announce it.
lxc_log_phase() {
  LXC_PHASE=$1
  lxc_log_write "=== phase $1: $2"
  ((LXC_JSON)) || printf '==> %s: %s\n' "$1" "$2" >&3
  lxc_event phase running "$2"
}

# Close the current phase with a status (succeeded, skipped, failed).
lxc_log_phase_end() {
  lxc_log_write "=== phase $LXC_PHASE $1${2:+: $2}"
  lxc_event phase "$1" "${2:-$LXC_PHASE $1}"
}

# Render a command as a copy-pasteable shell line (each word quoted when needed) into the variable named $1.
lxc_log_quote() {
  local -n _lxc_quote_out=$1
  shift
  local _lxc_word _lxc_all='' _lxc_one
  for _lxc_word in "$@"; do
    if [[ $_lxc_word =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then _lxc_one=$_lxc_word; else printf -v _lxc_one '%q' "$_lxc_word"; fi
    _lxc_all+=${_lxc_all:+ }$_lxc_one
  done
  _lxc_quote_out=$_lxc_all
}

# Print an error and exit with the given code: CODE MESSAGE [HINT…]. Inside a subshell ($(…)) it leaves
# the code in $LXC_DIE_MARK so the main shell's ERR trap finishes the failure without a second message.
lxc_die() {
  local code=$1
  shift
  lxc_log_error "$1"
  shift
  local hint
  for hint in "$@"; do
    printf '  %s\n' "$hint" >&3
    lxc_log_write "  $hint"
  done
  if [[ -n ${LXC_MAIN_PID:-} && $BASHPID != "$LXC_MAIN_PID" ]]; then
    [[ -n ${LXC_DIE_MARK:-} ]] && printf '%s' "$code" >"$LXC_DIE_MARK"
    exit "$code"
  fi
  trap - ERR
  if declare -F lxc_on_exit_failure >/dev/null; then lxc_on_exit_failure "$code"; fi
  exit "$code"
}
