#!/usr/bin/env bash
# Usage: deploy.sh TEMPLATE [options]
#
# Deploy a fully provisioned LXC container on this Proxmox VE node from a template folder
# (infra/lxc/templates/TEMPLATE/template.yaml, or a path to a template folder). Run as root on the node.
# Phases: create (pct create) → start (pct start, wait for IPv4) → provision (files, packages, scripts,
# hooks) → verify (declared services) → finalize (credentials, clean-up).
#
# Options:
#   --vmid N               use this VMID (default: the next free id; retried on "already exists")
#   --node NODE            deploy on another cluster node, through ssh root@NODE (default: this node)
#   --storage S            storage for the root disk (default: local-lvm)
#   --ostemplate-storage S storage holding OS templates (default: local)
#   --bridge B             network bridge (default: the template's, usually vmbr0)
#   --hostname H           container host name (default: the template name)
#   --set KEY=VALUE        set the template input KEY (repeatable; typed and validated; secrets never logged)
#   --set-file KEY=FILE    set KEY to the content of FILE (keeps a secret out of argv and shell history)
#   --dry-run              print the full plan (the exact pct commands) and change nothing
#   --resume               continue the newest unfinished deploy of TEMPLATE from its first unfinished step
#   --deploy-id ID         with --resume: continue this deploy instead of the newest one
#   --json                 print JSON-lines progress events on stdout (see docs/engine.md)
#   --state-dir DIR        where state, logs and credentials go (default: /var/lib/lxc-deploy)
#   --verbose              also show every command's output on the terminal
#   -h, --help             show this help
#
# Exit codes: 0 ok · 1 unexpected error · 2 usage · 3 missing dependency · 4 template not found/invalid ·
#   5 bad input (--set) · 6 state/resume problem · 10 create · 11 start · 12 provision · 13 verify ·
#   14 finalize · 130 interrupted. Details: docs/engine.md.
# Needs: bash ≥ 4.4, python3 with PyYAML (apt-get install -y python3 python3-yaml), pct/pvesh/pveam.
set -Eeuo pipefail

if [[ -z ${BASH_VERSINFO:-} ]] || ((BASH_VERSINFO[0] < 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] < 4))); then
  echo "deploy.sh needs bash 4.4 or newer (this is ${BASH_VERSION:-not bash})" >&2
  exit 3
fi

LXC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
LXC_LIB=$LXC_ROOT/lib
LXC_TEMPLATES_DIR=${LXC_TEMPLATES_DIR:-$LXC_ROOT/templates}
LXC_BUCKETS_DIR=${LXC_BUCKETS_DIR:-$(dirname "$LXC_TEMPLATES_DIR")/buckets}
LXC_SCHEMA_DIR=${LXC_SCHEMA_DIR:-$LXC_ROOT/schema}
LXC_STATE_DIR=${LXC_STATE_DIR:-/var/lib/lxc-deploy}
LXC_CT_DIR=/root/.lxc-deploy
LXC_CREATE_ATTEMPTS=${LXC_CREATE_ATTEMPTS:-5}
LXC_NETWORK_TIMEOUT=${LXC_NETWORK_TIMEOUT:-60}
LXC_VERIFY_ATTEMPTS=${LXC_VERIFY_ATTEMPTS:-30}
LXC_VERIFY_INTERVAL=${LXC_VERIFY_INTERVAL:-2}

readonly LXC_EXIT_INTERNAL=1 LXC_EXIT_USAGE=2 LXC_EXIT_DEPENDENCY=3 LXC_EXIT_TEMPLATE=4 LXC_EXIT_INPUT=5
readonly LXC_EXIT_STATE=6 LXC_EXIT_CREATE=10 LXC_EXIT_START=11 LXC_EXIT_PROVISION=12 LXC_EXIT_VERIFY=13
readonly LXC_EXIT_FINALIZE=14 LXC_EXIT_INTERRUPTED=130

# shellcheck source=infra/lxc/lib/log.bash
source "$LXC_LIB/log.bash"
# shellcheck source=infra/lxc/lib/config.bash
source "$LXC_LIB/config.bash"
# shellcheck source=infra/lxc/lib/state.bash
source "$LXC_LIB/state.bash"
# shellcheck source=infra/lxc/lib/container.bash
source "$LXC_LIB/container.bash"
# shellcheck source=infra/lxc/lib/files.bash
source "$LXC_LIB/files.bash"
# shellcheck source=infra/lxc/lib/packages.bash
source "$LXC_LIB/packages.bash"
# shellcheck source=infra/lxc/lib/hooks.bash
source "$LXC_LIB/hooks.bash"
# shellcheck source=infra/lxc/lib/verify.bash
source "$LXC_LIB/verify.bash"

LXC_TEMPLATE_REF='' LXC_VMID='' LXC_NODE='' LXC_STORAGE=local-lvm LXC_OSTEMPLATE_STORAGE=local
LXC_BRIDGE='' LXC_HOSTNAME='' LXC_DRY_RUN=0 LXC_RESUME=0 LXC_DEPLOY_ID='' LXC_OSTEMPLATE='' LXC_STEP=''
LXC_DEPLOY_DIR='' LXC_TMP='' LXC_DIE_MARK='' LXC_MAIN_PID=$BASHPID
LXC_SETS=()

# Print the usage block at the top of this file.
lxc_usage() {
  sed -n '2,/^set -Eeuo/{/^set -Eeuo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

# Exit 2 with a usage error.
lxc_usage_error() {
  printf 'deploy.sh: %s\nTry deploy.sh --help.\n' "$1" >&2
  exit "$LXC_EXIT_USAGE"
}

# The exit code for a failure in the current phase.
lxc_phase_exit() {
  case $LXC_PHASE in
    create) printf '%s' "$LXC_EXIT_CREATE" ;;
    start) printf '%s' "$LXC_EXIT_START" ;;
    provision) printf '%s' "$LXC_EXIT_PROVISION" ;;
    verify) printf '%s' "$LXC_EXIT_VERIFY" ;;
    finalize) printf '%s' "$LXC_EXIT_FINALIZE" ;;
    *) printf '%s' "$LXC_EXIT_INTERNAL" ;;
  esac
}

# The command that continues this deploy.
lxc_resume_hint() {
  local q
  lxc_log_quote q "$0" "${LXC_CFG[name]:-$LXC_TEMPLATE_REF}" --resume --deploy-id "$LXC_DEPLOY_ID"
  [[ $LXC_STATE_DIR == /var/lib/lxc-deploy ]] || lxc_log_quote q "$0" "${LXC_CFG[name]:-$LXC_TEMPLATE_REF}" \
    --resume --deploy-id "$LXC_DEPLOY_ID" --state-dir "$LXC_STATE_DIR"
  printf '%s' "$q"
}

# Parse the command line into LXC_* settings.
lxc_parse_args() {
  local arg
  while (($#)); do
    arg=$1
    case $arg in
      -h | --help) lxc_usage; exit 0 ;;
      --dry-run) LXC_DRY_RUN=1 ;;
      --resume) LXC_RESUME=1 ;;
      --json) LXC_JSON=1 ;;
      --verbose) LXC_VERBOSE=1 ;;
      --vmid | --node | --storage | --ostemplate-storage | --bridge | --hostname | --set | --set-file | --deploy-id | --state-dir)
        (($# >= 2)) || lxc_usage_error "$arg needs a value"
        case $arg in
          --vmid) if ! [[ $2 =~ ^[1-9][0-9]{2,8}$ ]]; then lxc_usage_error "--vmid must be a number ≥ 100"; fi
            LXC_VMID=$2 ;;
          --node) [[ $2 =~ ^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$ ]] || lxc_usage_error "--node: invalid node name"
            LXC_NODE=$2 ;;
          --storage) LXC_STORAGE=$2 ;;
          --ostemplate-storage) [[ $2 =~ ^[A-Za-z][A-Za-z0-9._-]{0,63}$ ]] || lxc_usage_error "--ostemplate-storage: invalid storage id"
            LXC_OSTEMPLATE_STORAGE=$2 ;;
          --bridge) LXC_BRIDGE=$2 ;;
          --hostname) LXC_HOSTNAME=$2 ;;
          --set) [[ $2 == ?*=* ]] || lxc_usage_error "--set expects KEY=VALUE"
            LXC_SETS+=("$2") ;;
          --set-file) [[ $2 == ?*=?* ]] || lxc_usage_error "--set-file expects KEY=FILE"
            [[ -f ${2#*=} && -r ${2#*=} ]] || lxc_usage_error "--set-file ${2%%=*}: cannot read ${2#*=}"
            local content
            content=$(<"${2#*=}")  # command substitution drops the trailing newline(s)
            LXC_SETS+=("${2%%=*}=$content") ;;
          --deploy-id) [[ $2 =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]] || lxc_usage_error "--deploy-id: invalid id"
            LXC_DEPLOY_ID=$2 ;;
          --state-dir) LXC_STATE_DIR=$2 ;;
        esac
        shift ;;
      --*=*) lxc_usage_error "write '${arg%%=*} ${arg#*=}' (no '=' between an option and its value)" ;;
      -*) lxc_usage_error "unknown option $arg" ;;
      *) [[ -z $LXC_TEMPLATE_REF ]] || lxc_usage_error "only one TEMPLATE may be given (got '$LXC_TEMPLATE_REF' and '$arg')"
        LXC_TEMPLATE_REF=$arg ;;
    esac
    shift
  done
  [[ -n $LXC_TEMPLATE_REF ]] || lxc_usage_error "missing TEMPLATE"
  if ((LXC_RESUME)); then
    if ((${#LXC_SETS[@]})) || [[ -n $LXC_VMID$LXC_HOSTNAME$LXC_BRIDGE ]]; then
      lxc_usage_error "--resume reuses the interrupted deploy's plan: --set/--set-file, --vmid, --hostname and --bridge are not allowed"
    fi
    ((LXC_DRY_RUN == 0)) || lxc_usage_error "--resume and --dry-run cannot be combined"
  elif [[ -n $LXC_DEPLOY_ID ]]; then
    lxc_usage_error "--deploy-id is only used with --resume"
  fi
}

# ERR trap: explain which step and command failed, where the log and state are, and how to resume.
lxc_on_error() {
  local status=$? command=$BASH_COMMAND line=${BASH_LINENO[0]}
  trap - ERR
  if [[ $BASHPID != "$LXC_MAIN_PID" ]]; then exit "$status"; fi
  local code
  if [[ -s $LXC_DIE_MARK ]]; then
    code=$(<"$LXC_DIE_MARK")
  else
    code=$(lxc_phase_exit)
    [[ -n $LXC_STEP ]] || code=$LXC_EXIT_INTERNAL
    lxc_log_error "step '${LXC_STEP:-setup}' failed: command '$command' exited with status $status (deploy.sh line $line)"
  fi
  lxc_on_exit_failure "$code"
  exit "$code"
}

# Record a failure in the state, emit the failed phase + result events and tell the user how to continue.
lxc_on_exit_failure() {
  local code=$1
  trap - ERR
  if [[ -n $LXC_STATE_FILE && -n $LXC_STEP ]] && ! ((LXC_DRY_RUN)) && [[ -f $LXC_STATE_FILE ]]; then
    LXC_STATE[status]=failed
    LXC_STATE[failed_step]=$LXC_STEP
    LXC_STATE[exit_code]=$code
    lxc_state_write || true
  fi
  if [[ -n $LXC_STEP ]]; then
    lxc_event phase failed "step $LXC_STEP failed"
  fi
  lxc_event result failed "deploy ${LXC_DEPLOY_ID:-?} failed (exit $code)" \
    "\"deploy_id\":\"${LXC_DEPLOY_ID}\",\"vmid\":\"$(lxc_state_get vmid)\",\"step\":\"${LXC_STEP}\",\"exit_code\":$code"
  if [[ -n $LXC_STEP ]] && ! ((LXC_DRY_RUN)); then
    printf '\n  log:    %s\n  state:  %s\n  resume: %s\n' "${LXC_LOG_FILE:-none}" "$LXC_STATE_FILE" "$(lxc_resume_hint)" >&3
    lxc_log_write "resume with: $(lxc_resume_hint)"
  fi
}

# SIGINT/SIGTERM: record the interruption so --resume continues from the current step.
lxc_on_interrupt() {
  trap - ERR INT TERM
  lxc_log_error "interrupted during step '${LXC_STEP:-setup}'"
  lxc_on_exit_failure "$LXC_EXIT_INTERRUPTED"
  exit "$LXC_EXIT_INTERRUPTED"
}

# EXIT trap: remove this run's temporary folder.
lxc_on_exit() {
  [[ -n $LXC_TMP && -d $LXC_TMP ]] && rm -rf -- "$LXC_TMP"
  return 0
}

# Run one step unless the state says it is done; record it as done afterwards.
lxc_step() {
  local name=$1
  shift
  if lxc_state_done "$name"; then
    lxc_log_debug "step $name already done"
    return 0
  fi
  LXC_STEP=$name
  lxc_log_write "--- step $name"
  "$@"
  lxc_state_mark "$name"
}

# Decide between this node and a remote node reached over ssh.
lxc_select_node() {
  local here
  here=$(hostname -s 2>/dev/null || hostname)
  [[ -n $LXC_NODE ]] || LXC_NODE=$here
  if [[ $LXC_NODE != "$here" && $LXC_NODE != "$(hostname 2>/dev/null)" ]]; then LXC_REMOTE_NODE=$LXC_NODE; fi
}

# A new deploy: id, state folder, template snapshot, resolved plan (dry-run: a temporary plan only).
lxc_prepare_new() {
  local rand name
  lxc_config_find_template "$LXC_TEMPLATE_REF"
  name=$(basename "${LXC_CFG[template_dir]}")
  rand=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
  LXC_DEPLOY_ID=$name-$(date -u +%Y%m%d-%H%M%S)-$rand
  LXC_DEPLOY_ID=${LXC_DEPLOY_ID:0:63}
  lxc_select_node
  # Validate template and inputs before anything is written (no env/secrets are produced by this pass).
  lxc_config_resolve "$LXC_TMP/plan.json" ''
  lxc_state_init
  if ((LXC_DRY_RUN)); then
    lxc_config_load "$LXC_TMP/plan.json"
    return 0
  fi
  lxc_state_lock
  lxc_log_open "$LXC_STATE_DIR/$LXC_DEPLOY_ID.log"
  # Snapshot the template so a resume runs exactly the same files even if the folder changes meanwhile.
  mkdir -p "$LXC_DEPLOY_DIR/template"
  cp -R -P -- "${LXC_CFG[template_dir]}" "$LXC_DEPLOY_DIR/template/"
  LXC_CFG[template_dir]=$LXC_DEPLOY_DIR/template/$name
  (umask 077 && lxc_config_resolve "$LXC_DEPLOY_DIR/plan.json" "$LXC_DEPLOY_DIR/inputs")
  lxc_config_load "$LXC_DEPLOY_DIR/plan.json"
  local ts
  lxc_log_now ts
  LXC_STATE=([deploy_id]=$LXC_DEPLOY_ID [template]=${LXC_CFG[name]} [template_dir]=${LXC_CFG[template_dir]}
    [node]=$LXC_NODE [status]=running [created_at]=$ts [vmid]=$LXC_VMID)
  lxc_state_write
}

# An interrupted deploy: find and lock its state, reuse its plan and inputs.
lxc_prepare_resume() {
  local file name
  name=$(basename "$LXC_TEMPLATE_REF")
  if [[ -n $LXC_DEPLOY_ID ]]; then
    file=$LXC_STATE_DIR/$LXC_DEPLOY_ID.state
  else
    file=$(lxc_state_find_unfinished "$name")
    [[ -n $file ]] || lxc_die "$LXC_EXIT_STATE" "no unfinished deploy of template '$name' in $LXC_STATE_DIR" \
      "start a new one without --resume, or pass --state-dir / --deploy-id"
  fi
  lxc_state_load "$file"
  LXC_DEPLOY_ID=$(lxc_state_get deploy_id)
  [[ $(lxc_state_get template) == "$name" ]] ||
    lxc_die "$LXC_EXIT_STATE" "deploy $LXC_DEPLOY_ID is of template '$(lxc_state_get template)', not '$name'"
  [[ $(lxc_state_get status) != succeeded ]] ||
    lxc_die "$LXC_EXIT_STATE" "deploy $LXC_DEPLOY_ID already finished successfully (container $(lxc_state_get vmid))"
  lxc_state_init
  [[ -f $LXC_DEPLOY_DIR/plan.json && -f $LXC_DEPLOY_DIR/inputs/env ]] ||
    lxc_die "$LXC_EXIT_STATE" "deploy $LXC_DEPLOY_ID has no saved plan or inputs in $LXC_DEPLOY_DIR"
  if [[ -n $LXC_NODE && $LXC_NODE != "$(lxc_state_get node)" ]]; then
    lxc_die "$LXC_EXIT_STATE" "deploy $LXC_DEPLOY_ID ran on node $(lxc_state_get node), not $LXC_NODE"
  fi
  LXC_NODE=$(lxc_state_get node)
  lxc_select_node
  lxc_state_lock
  lxc_log_open "$LXC_STATE_DIR/$LXC_DEPLOY_ID.log"
  lxc_config_load "$LXC_DEPLOY_DIR/plan.json"
  LXC_STATE[status]=running
  unset 'LXC_STATE[failed_step]' 'LXC_STATE[exit_code]'
  lxc_state_write
  lxc_log_info "resuming deploy $LXC_DEPLOY_ID (container $(lxc_state_get vmid '(not yet created)'))"
}

# Print the header of the plan / the run.
lxc_print_header() {
  local line
  local header=("deploy ${LXC_DEPLOY_ID}: template ${LXC_CFG[name]}${LXC_CFG[version]:+ ${LXC_CFG[version]}} on node $LXC_NODE"
    "  template folder: ${LXC_CFG[template_dir]}"
    "  hostname ${LXC_CFG[hostname]}, root disk on ${LXC_CFG[storage]}, OS template ${LXC_CFG[os_volid]:-${LXC_CFG[os_template]}}"
    "  packages: ${LXC_PACKAGES[*]:-none}"
    "  scripts: ${LXC_SCRIPTS[*]:-none}"
    "  inputs: ${LXC_INPUT_DISPLAY[*]:-none}")
  if ((LXC_DRY_RUN)) && ! ((LXC_JSON)); then
    printf 'Plan (dry run: nothing is changed)\n' >&6
    printf '%s\n' "${header[@]}" >&6
  else
    for line in "${header[@]}"; do lxc_log_info "$line"; done
  fi
}

# Announce a phase (dry-run: a plan section header).
lxc_phase() {
  if ((LXC_DRY_RUN)) && ! ((LXC_JSON)); then
    LXC_PHASE=$1
    printf '\n[%s] %s\n' "$1" "$2" >&6
  else
    lxc_log_phase "$1" "$2"
  fi
}

# Close a phase.
lxc_phase_done() {
  ((LXC_DRY_RUN)) && ! ((LXC_JSON)) && return 0
  lxc_log_phase_end succeeded
}

# The five phases.
lxc_run_phases() {
  local vmid

  lxc_phase create "create the container"
  lxc_step hooks.pre-create lxc_hooks_run pre-create ''
  if ! lxc_state_done create; then
    LXC_STEP=ostemplate
    lxc_container_ostemplate
  fi
  lxc_step create lxc_container_create
  vmid=$(lxc_state_get vmid)
  lxc_step hooks.post-create lxc_hooks_run post-create "$vmid"
  lxc_phase_done

  lxc_phase start "start the container and wait for its network"
  # Not skipped on resume: a container stopped meanwhile (node reboot) must run again before provisioning.
  LXC_STEP=start
  lxc_container_start "$vmid"
  lxc_state_mark start
  lxc_step network lxc_container_wait_network "$vmid"
  lxc_step runtime lxc_files_push_runtime "$vmid"
  lxc_step hooks.post-start lxc_hooks_run post-start "$vmid"
  lxc_phase_done

  lxc_phase provision "files, packages, scripts and hooks"
  lxc_step hooks.pre-provision lxc_hooks_run pre-provision "$vmid"
  lxc_step files lxc_files_push_template "$vmid"
  lxc_step packages lxc_packages_install "$vmid"
  lxc_step scripts lxc_hooks_run_scripts "$vmid"
  lxc_step hooks.post-provision lxc_hooks_run post-provision "$vmid"
  lxc_phase_done

  lxc_phase verify "check the declared services"
  lxc_step verify lxc_verify_services "$vmid"
  lxc_step hooks.post-verify lxc_hooks_run post-verify "$vmid"
  lxc_phase_done

  lxc_phase finalize "capture credentials and clean up"
  lxc_step credentials lxc_verify_capture_credentials "$vmid"
  lxc_step cleanup lxc_finalize_cleanup "$vmid"
  lxc_phase_done
}

# Remove the inputs from the container and the host; the deploy is then complete.
lxc_finalize_cleanup() {
  local vmid=$1
  lxc_files_cleanup_runtime "$vmid"
  if ((LXC_DRY_RUN)); then
    lxc_plan_note "remove the saved inputs $LXC_DEPLOY_DIR/inputs on the host"
  else
    rm -rf -- "$LXC_DEPLOY_DIR/inputs"
  fi
}

# Summarise the result: terminal lines plus the "result" event.
lxc_report() {
  local vmid ip i urls=()
  vmid=$(lxc_state_get vmid)
  ip=$(lxc_state_get ip)
  if ((LXC_DRY_RUN)); then
    ((LXC_JSON)) || printf '\nNothing was changed. Run without --dry-run to deploy.\n' >&6
    lxc_event result planned "plan for deploy $LXC_DEPLOY_ID" "\"deploy_id\":\"$LXC_DEPLOY_ID\",\"vmid\":\"$vmid\",\"exit_code\":0"
    return 0
  fi
  for i in "${!LXC_SERVICE_NAME[@]}"; do
    [[ -n ${LXC_SERVICE_WEB_UI[i]} ]] && urls+=("${LXC_SERVICE_PROTOCOL[i]}://$ip:${LXC_SERVICE_PORT[i]}${LXC_SERVICE_WEB_UI[i]}")
  done
  lxc_state_set status succeeded
  lxc_log_info "deploy $LXC_DEPLOY_ID succeeded: container $vmid (${LXC_CFG[hostname]}) at ${ip:-?}"
  ((${#urls[@]})) && lxc_log_info "web UI: ${urls[*]}"
  ((${#LXC_CREDENTIAL_NAME[@]})) && lxc_log_info "credentials (0600): $LXC_DEPLOY_DIR/credentials/"
  local json_urls='' u esc
  for u in "${urls[@]}"; do
    lxc_json_escape "$u" esc
    json_urls+=${json_urls:+,}\"$esc\"
  done
  lxc_event result succeeded "deploy $LXC_DEPLOY_ID succeeded" \
    "\"deploy_id\":\"$LXC_DEPLOY_ID\",\"vmid\":\"$vmid\",\"ip\":\"$ip\",\"web_ui\":[$json_urls],\"exit_code\":0"
}

# Entry point.
main() {
  lxc_parse_args "$@"
  lxc_log_open ''
  LXC_TMP=$(mktemp -d "${TMPDIR:-/tmp}/lxc-deploy.XXXXXX")
  LXC_DIE_MARK=$LXC_TMP/die
  trap lxc_on_exit EXIT
  trap lxc_on_error ERR
  trap lxc_on_interrupt INT TERM
  lxc_config_check_deps
  if ((LXC_RESUME)); then lxc_prepare_resume; else lxc_prepare_new; fi
  lxc_print_header
  lxc_run_phases
  LXC_STEP=''
  trap - ERR
  lxc_report
}

main "$@"
