# shellcheck shell=bash
# Running template scripts and hooks in order, each recorded in the state so a resume never re-runs one
# that finished. In the container: pushed to $LXC_CT_DIR/{scripts,hooks}/ and run by the runner, which loads
# the inputs from the 0600 env file (never argv). Host hooks (pre-create, post-create) run on this machine.

# Run one file from the template (KIND scripts|hooks) in the container, streaming its output.
lxc_hooks_run_in_ct() {
  local vmid=$1 kind=$2 name=$3 what=$4 rc=0
  lxc_files_push "$vmid" "${LXC_CFG[template_dir]}/$kind/$name" "$LXC_CT_DIR/$kind/$name" 0700
  lxc_log_info "running $what"
  lxc_pve_run pct exec "$vmid" -- env "LXCM_VMID=$vmid" "$LXC_CT_DIR/run" "$LXC_CT_DIR/$kind/$name" || rc=$?
  ((rc == 0)) || lxc_die "$(lxc_phase_exit)" "$what failed with exit status $rc in container $vmid" \
    "fix it, then continue with: $(lxc_resume_hint)" "log: $LXC_LOG_FILE"
}

# Run one host hook locally with the deploy's env file.
lxc_hooks_run_on_host() {
  local vmid=$1 name=$2 what=$3 rc=0 hook=${LXC_CFG[template_dir]}/hooks/$2
  lxc_log_info "running $what on the host"
  if ((LXC_DRY_RUN)); then
    lxc_plan_command env "LXCM_VMID=$vmid" "$LXC_LIB/ct-runner.sh" --env "$LXC_DEPLOY_DIR/inputs/env" "$hook"
    return 0
  fi
  lxc_log_debug "+ $hook"
  LXCM_VMID=$vmid "$LXC_LIB/ct-runner.sh" --env "$LXC_DEPLOY_DIR/inputs/env" "$hook" 2>&1 | lxc_log_stream || rc=$?
  ((rc == 0)) || lxc_die "$(lxc_phase_exit)" "$what failed with exit status $rc" \
    "fix it, then continue with: $(lxc_resume_hint)" "log: $LXC_LOG_FILE"
}

# Run every hook registered for EVENT (pre-create … post-verify), skipping those already done.
lxc_hooks_run() {
  local event=$1 vmid=${2:-} name var
  var=LXC_HOOK_${event^^}
  var=${var//-/_}
  local -n _lxc_hooks=$var
  for name in "${_lxc_hooks[@]}"; do
    if lxc_state_done "hook.$event.$name"; then
      lxc_log_debug "$event hook $name already done"
      continue
    fi
    case $event in
      pre-create | post-create) lxc_hooks_run_on_host "$vmid" "$name" "$event hook $name" ;;
      *) lxc_hooks_run_in_ct "$vmid" hooks "$name" "$event hook $name" ;;
    esac
    lxc_state_mark "hook.$event.$name"
  done
}

# Run the template's scripts in order, skipping those already done.
lxc_hooks_run_scripts() {
  local vmid=$1 name
  for name in "${LXC_SCRIPTS[@]}"; do
    if lxc_state_done "script.$name"; then
      lxc_log_debug "script $name already done"
      continue
    fi
    lxc_hooks_run_in_ct "$vmid" scripts "$name" "script $name"
    lxc_state_mark "script.$name"
  done
}
