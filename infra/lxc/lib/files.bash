# shellcheck shell=bash
# Pushing files into the container: the runtime (runner, env file, secret inputs) and the template's files/.
# Each push is `pct push VMID SRC DEST --perms MODE --user U --group G` after a `mkdir -p` of the folder.

declare -gA LXC_CT_DIRS_MADE=()

# Push one local file to DEST in the container with MODE [USER [GROUP]], creating the folder first.
lxc_files_push() {
  local vmid=$1 src=$2 dest=$3 mode=$4 user=${5:-root} group=${6:-} dir node_src
  dir=${dest%/*}
  if [[ -n $dir && -z ${LXC_CT_DIRS_MADE[$vmid:$dir]:-} ]]; then
    LXC_CT_DIRS_MADE[$vmid:$dir]=1
    lxc_pve_run pct exec "$vmid" -- mkdir -p "$dir" ||
      lxc_die "$(lxc_phase_exit)" "cannot create $dir in container $vmid" "see the log: $LXC_LOG_FILE"
  fi
  node_src=$(lxc_pve_source "$src")
  local argv=(pct push "$vmid" "$node_src" "$dest" --perms "$mode" --user "$user")
  [[ -n $group ]] && argv+=(--group "$group")
  lxc_pve_run "${argv[@]}" ||
    lxc_die "$(lxc_phase_exit)" "pushing ${src##*/} to $dest in container $vmid failed" \
      "does the owner '$user${group:+:$group}' exist in the container? see the log: $LXC_LOG_FILE"
}

# Push the runner, the env file and the secret input files into $LXC_CT_DIR (0700 folder, 0600 files).
lxc_files_push_runtime() {
  local vmid=$1 name inputs=$LXC_DEPLOY_DIR/inputs
  lxc_pve_run pct exec "$vmid" -- mkdir -p -m 0700 "$LXC_CT_DIR" "$LXC_CT_DIR/secrets" "$LXC_CT_DIR/scripts" \
    "$LXC_CT_DIR/hooks" || lxc_die "$LXC_EXIT_START" "cannot create $LXC_CT_DIR in container $vmid"
  for name in "" /secrets /scripts /hooks; do LXC_CT_DIRS_MADE[$vmid:$LXC_CT_DIR$name]=1; done
  lxc_files_push "$vmid" "$LXC_LIB/ct-runner.sh" "$LXC_CT_DIR/run" 0700
  lxc_files_push "$vmid" "$inputs/env" "$LXC_CT_DIR/env" 0600
  for name in "${LXC_SECRET_INPUTS[@]}"; do
    lxc_files_push "$vmid" "$inputs/secrets/$name" "$LXC_CT_DIR/secrets/$name" 0600
  done
}

# Push the template's files/ entries with their owner and mode.
lxc_files_push_template() {
  local vmid=$1 i
  for i in "${!LXC_FILE_SOURCE[@]}"; do
    lxc_log_info "file ${LXC_FILE_SOURCE[i]} → ${LXC_FILE_DESTINATION[i]} (${LXC_FILE_MODE[i]} ${LXC_FILE_USER[i]}${LXC_FILE_GROUP[i]:+:${LXC_FILE_GROUP[i]}})"
    lxc_files_push "$vmid" "${LXC_CFG[template_dir]}/files/${LXC_FILE_SOURCE[i]}" "${LXC_FILE_DESTINATION[i]}" \
      "${LXC_FILE_MODE[i]}" "${LXC_FILE_USER[i]}" "${LXC_FILE_GROUP[i]}"
  done
}

# Remove the runtime folder (env file, secret inputs, outputs) from the container.
lxc_files_cleanup_runtime() {
  local vmid=$1
  lxc_pve_run pct exec "$vmid" -- rm -rf -- "$LXC_CT_DIR" ||
    lxc_log_warn "could not remove $LXC_CT_DIR from container $vmid; remove it by hand (it holds the inputs)"
}
