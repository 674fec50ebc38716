#!/usr/bin/env bash
# Usage: run-scripts.sh --vmid N [options]
#
# Run the OpenClaw post-install scripts (scripts/NN-*.sh, the canonical software source) inside the VM, in
# order, as root: through the QEMU guest agent (qm guest exec, default) or over SSH (--ssh USER@HOST, sudo).
# Each script gets the settings of template.conf and the VNC password as environment, sent on stdin
# (never in argv). Finished scripts are recorded; a re-run continues with the first unfinished one.
#
# Options:
#   --vmid N                 the VM (required, also with --ssh: it names the state file)
#   --ssh USER@HOST          use SSH instead of the guest agent
#   --vnc-password-file F    VNC password (default: generated once, kept 0600 in the state dir)
#   --from NN                run again from script NN on (forget later completions)
#   --only NN                run just script NN
#   --config FILE            settings (default: template.conf beside this script)
#   --state-dir DIR          default: /var/lib/openclaw-vm
#   --timeout SECONDS        per script (default: 3600)
#   --dry-run                list what would run and change nothing
#   -h, --help               show this help
#
# Exit codes: 0 ok · 2 usage · 3 missing dependency · 4 config · 7 the guest agent does not answer ·
#   10 a script failed (its output is in the log; fix and re-run to continue).
set -Eeuo pipefail
if ((BASH_VERSINFO[0] < 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] < 4))); then
  echo "run-scripts.sh needs bash 4.4 or newer" >&2
  exit 3
fi

VM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=infra/vm/openclaw/lib/common.bash
source "$VM_ROOT/lib/common.bash"

VM_CONFIG=$VM_ROOT/template.conf STATE_DIR=/var/lib/openclaw-vm VM_DRY_RUN=0 TIMEOUT=3600
VMID='' SSH_TARGET='' VNC_PASSWORD_FILE='' FROM='' ONLY=''

# Print the usage block at the top of this file.
usage() {
  sed -n '2,/^set -Eeuo/{/^set -Eeuo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

# Exit 2 with a usage error.
usage_error() {
  printf 'run-scripts.sh: %s\nTry run-scripts.sh --help.\n' "$1" >&2
  exit "$VM_EXIT_USAGE"
}

# Parse the command line.
parse_args() {
  while (($#)); do
    case $1 in
      -h | --help) usage; exit 0 ;;
      --dry-run) VM_DRY_RUN=1 ;;
      --vmid | --ssh | --vnc-password-file | --from | --only | --config | --state-dir | --timeout)
        (($# >= 2)) || usage_error "$1 needs a value"
        case $1 in
          --vmid) [[ $2 =~ ^[1-9][0-9]{2,8}$ ]] || usage_error "--vmid must be a number ≥ 100"; VMID=$2 ;;
          --ssh) [[ $2 =~ ^[A-Za-z0-9._-]+@[A-Za-z0-9.:-]+$ ]] || usage_error "--ssh expects USER@HOST"; SSH_TARGET=$2 ;;
          --vnc-password-file) VNC_PASSWORD_FILE=$2 ;;
          --from) [[ $2 =~ ^[0-9]{2}$ ]] || usage_error "--from expects a two-digit script number"; FROM=$2 ;;
          --only) [[ $2 =~ ^[0-9]{2}$ ]] || usage_error "--only expects a two-digit script number"; ONLY=$2 ;;
          --config) VM_CONFIG=$2 ;;
          --state-dir) STATE_DIR=$2 ;;
          --timeout) [[ $2 =~ ^[1-9][0-9]*$ ]] || usage_error "--timeout expects seconds"; TIMEOUT=$2 ;;
        esac
        shift ;;
      *) usage_error "unknown argument $1" ;;
    esac
    shift
  done
  [[ -n $VMID ]] || usage_error "--vmid N is required"
}

# The environment prelude sent before each script (values quoted with %q; nothing from the user is eval'd here).
env_prelude() {
  local key
  printf 'set -Eeuo pipefail\n'
  for key in VM_USER NODE_VERSION OPENCLAW_VERSION CHROME_KEY_FINGERPRINT VNC_DISPLAY VNC_GEOMETRY; do
    printf 'export OPENCLAW_%s=%q\n' "${key#VM_}" "$(vm_conf "$key")"
  done
  printf 'export OPENCLAW_VNC_PASSWORD=%q\n' "$(cat "$VNC_PASSWORD_FILE")"
  printf 'export DEBIAN_FRONTEND=noninteractive\n'
}

# Print the VNC password file to use, generating one (0600) on first use.
vnc_password_file() {
  if [[ -n $VNC_PASSWORD_FILE ]]; then
    [[ -f $VNC_PASSWORD_FILE ]] || usage_error "--vnc-password-file: $VNC_PASSWORD_FILE not found"
    return 0
  fi
  VNC_PASSWORD_FILE=$STATE_DIR/$VMID.vnc-password
  if [[ ! -f $VNC_PASSWORD_FILE ]] && ! ((VM_DRY_RUN)); then
    (umask 077 && od -An -N6 -tx1 /dev/urandom | tr -d ' \n' >"$VNC_PASSWORD_FILE")
    vm_log "generated a VNC password: $VNC_PASSWORD_FILE (0600)"
  fi
}

# Wait (bounded) until the guest agent answers.
wait_agent() {
  local i
  for ((i = 0; i < 60; i++)); do
    qm guest cmd "$VMID" ping >/dev/null 2>&1 && return 0
    sleep 5
  done
  vm_die 7 "the QEMU guest agent of VM $VMID does not answer" \
    "is the VM running and did cloud-init install qemu-guest-agent? try: qm guest cmd $VMID ping"
}

# Run SCRIPT inside the VM with the prelude on stdin; print its output; return its exit status.
run_in_vm() {
  local script=$1 result
  if [[ -n $SSH_TARGET ]]; then
    { env_prelude; cat "$script"; } | ssh -o BatchMode=yes -- "$SSH_TARGET" sudo bash -s
    return
  fi
  result=$({ env_prelude; cat "$script"; } | qm guest exec "$VMID" --timeout "$TIMEOUT" --pass-stdin 1 -- bash -s) || return 1
  # qm guest exec answers JSON: {"exitcode":N,"exited":1,"out-data":"…","err-data":"…"}; 124 = still running.
  python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
sys.stdout.write(r.get("out-data", "") + r.get("err-data", ""))
sys.exit(int(r.get("exitcode", 1)) if r.get("exited") else 124)
' <<<"$result"
}

# Entry point.
main() {
  parse_args "$@"
  vm_conf_load "$VM_CONFIG"
  local state=$STATE_DIR/$VMID.scripts.state log=''
  ((VM_DRY_RUN)) || { mkdir -p "$STATE_DIR" && chmod 0700 "$STATE_DIR" && log=$STATE_DIR/$VMID.scripts.log; }
  vm_log_open "$log"
  trap vm_on_error ERR
  command -v python3 >/dev/null || vm_die "$VM_EXIT_DEPENDENCY" "python3 is needed to read qm guest exec results"
  vnc_password_file
  [[ -f $state ]] || ((VM_DRY_RUN)) || : >"$state"
  if [[ -n $FROM && -f $state ]]; then
    awk -v from="$FROM" 'substr($0, 1, 2) < from' "$state" >"$state.tmp" && mv -f "$state.tmp" "$state"
  fi
  if [[ -z $SSH_TARGET ]] && ! ((VM_DRY_RUN)); then wait_agent; fi
  local script name rc
  for script in "$VM_ROOT"/scripts/[0-9][0-9]-*.sh; do
    name=${script##*/}
    [[ -z $ONLY || $name == "$ONLY"-* ]] || continue
    if [[ -z $ONLY && -f $state ]] && grep -qxF -- "$name" "$state"; then
      vm_log "skip $name (done)"
      continue
    fi
    if ((VM_DRY_RUN)); then
      printf '  run %s in VM %s via %s\n' "$name" "$VMID" "${SSH_TARGET:-qm guest exec}"
      continue
    fi
    VM_STEP=$name
    vm_log "==> $name"
    rc=0
    run_in_vm "$script" >&4 2>&1 || rc=$?
    if ((rc)); then
      vm_die "$VM_EXIT_FAILED" "$name failed with exit status $rc in VM $VMID" \
        "its output is in $log; fix the cause and run run-scripts.sh --vmid $VMID again to continue"
    fi
    grep -qxF -- "$name" "$state" || printf '%s\n' "$name" >>"$state"
  done
  trap - ERR
  ((VM_DRY_RUN)) || vm_log "all scripts done for VM $VMID (log: $log)"
}

main "$@"
