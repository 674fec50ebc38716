# shellcheck shell=bash
# Talking to Proxmox (pct, pvesh, pveam) and the container life cycle: OS template, create, start, network.
#
# Every command is an argument array. On the local node it runs directly; for another node (--node) it runs
# through `ssh root@NODE` with each word quoted by printf %q, so no word is ever re-split by a shell.
# In --dry-run, commands that change something are printed (the plan) instead of run; read-only queries
# (pvesh get, pveam list/available, pct status/config) still run so the plan shows real values.

LXC_REMOTE_NODE=${LXC_REMOTE_NODE:-}

# Build the argv that runs "$@" on the target node into the array named $1.
lxc_pve_argv() {
  local -n _lxc_argv=$1
  shift
  if [[ -n $LXC_REMOTE_NODE ]]; then
    local quoted
    printf -v quoted '%q ' "$@"
    _lxc_argv=(ssh -o BatchMode=yes -- "root@$LXC_REMOTE_NODE" "$quoted")
  else
    _lxc_argv=("$@")
  fi
}

# Print one planned command (dry-run): on stdout, or as a "log" event with status "plan" under --json.
lxc_plan_command() {
  local line
  lxc_log_quote line "$@"
  if ((LXC_JSON)); then lxc_event log plan "$line"; else printf '  %s\n' "$line" >&6; fi
}

# Print one planned action that is not a single command (dry-run).
lxc_plan_note() {
  if ((LXC_JSON)); then lxc_event log plan "$*"; else printf '  # %s\n' "$*" >&6; fi
}

# Run a read-only PVE query and print its stdout (stderr goes to the log). Runs in dry-run too.
lxc_pve_read() {
  local argv line
  lxc_pve_argv argv "$@"
  lxc_log_quote line "$@"
  lxc_log_debug "? $line"
  "${argv[@]}" 2>&4
}

# Run a PVE command that changes something; its output goes to the log (and events). Dry-run: print it.
lxc_pve_run() {
  local argv line
  if ((LXC_DRY_RUN)); then
    lxc_plan_command "$@"
    return 0
  fi
  lxc_pve_argv argv "$@"
  lxc_log_quote line "$@"
  lxc_log_debug "+ $line"
  local rc=0
  "${argv[@]}" 2>&1 | lxc_log_stream || rc=$?
  if ((rc)); then lxc_log_write "external command failed with status $rc: $line"; fi
  return "$rc"
}

# Like lxc_pve_run (never in dry-run), but also keep the combined output in the variable named $1.
lxc_pve_run_capture() {
  local -n _lxc_captured=$1
  shift
  local argv line rc=0
  lxc_pve_argv argv "$@"
  lxc_log_quote line "$@"
  lxc_log_debug "+ $line"
  _lxc_captured=$("${argv[@]}" 2>&1) || rc=$?
  if [[ -n $_lxc_captured ]]; then lxc_log_stream <<<"$_lxc_captured"; fi
  if ((rc)); then lxc_log_write "external command failed with status $rc: $line"; fi
  return "$rc"
}

# Run a PVE command and print its stdout without logging it (credential capture). Never used in dry-run.
lxc_pve_secret() {
  local argv line
  lxc_pve_argv argv "$@"
  lxc_log_quote line "$@"
  lxc_log_debug "+ $line (output not logged)"
  "${argv[@]}" 2>&4
}

# Make a local file reachable on the node and print its path there (copied with scp for a remote node).
lxc_pve_source() {
  local file=$1
  if [[ -z $LXC_REMOTE_NODE ]] || ((LXC_DRY_RUN)); then
    printf '%s' "$file"
    return 0
  fi
  local remote_dir="/tmp/lxc-deploy-$LXC_DEPLOY_ID" name
  name=$(printf '%s' "$file" | md5sum | cut -c1-16)
  ssh -o BatchMode=yes -- "root@$LXC_REMOTE_NODE" "mkdir -p -m 0700 $(printf '%q' "$remote_dir")" 2>&4
  scp -q -o BatchMode=yes -p -- "$file" "root@$LXC_REMOTE_NODE:$remote_dir/$name" 2>&4
  printf '%s' "$remote_dir/$name"
}

# Resolve the OS template volume id (newest match on the template storage; downloaded with pveam if absent).
lxc_container_ostemplate() {
  local want=${LXC_CFG[os_template]} volid=${LXC_CFG[os_volid]} store=$LXC_OSTEMPLATE_STORAGE listing
  if [[ -n $volid ]]; then
    store=${volid%%:*}
  fi
  listing=$(lxc_pve_read pveam list "$store") ||
    lxc_die "$LXC_EXIT_CREATE" "cannot list OS templates on storage '$store' (pveam list $store failed)" \
      "check the storage name, or pass --ostemplate-storage STORAGE"
  if [[ -n $volid ]]; then
    if ! awk '{print $1}' <<<"$listing" | grep -qxF -- "$volid"; then
      lxc_die "$LXC_EXIT_CREATE" "OS template $volid (os.volid) is not on storage $store" \
        "download it first: pveam download $store ${volid#*:vztmpl/}"
    fi
    LXC_OSTEMPLATE=$volid
    return 0
  fi
  LXC_OSTEMPLATE=$(awk -v p="$store:vztmpl/${want}_" 'index($1, p) == 1 {print $1}' <<<"$listing" | sort -V | tail -n 1)
  if [[ -n $LXC_OSTEMPLATE ]]; then
    lxc_log_info "OS template: $LXC_OSTEMPLATE"
    return 0
  fi
  local available file
  available=$(lxc_pve_read pveam available --section system) ||
    lxc_die "$LXC_EXIT_CREATE" "OS template $want is not on storage $store and 'pveam available' failed" \
      "run 'pveam update' on the node, or download it: pveam download $store <file>"
  file=$(awk -v p="${want}_" 'index($2, p) == 1 {print $2}' <<<"$available" | sort -V | tail -n 1)
  [[ -n $file ]] || lxc_die "$LXC_EXIT_CREATE" "no OS template named $want in 'pveam available'" \
    "run 'pveam update' on the node, or set os.volid in template.yaml"
  lxc_log_info "downloading OS template $file to $store"
  lxc_pve_run pveam download "$store" "$file" ||
    lxc_die "$LXC_EXIT_CREATE" "pveam download $store $file failed" "see the log: $LXC_LOG_FILE"
  LXC_OSTEMPLATE=$store:vztmpl/$file
}

# Print the next free VMID from the cluster.
lxc_container_nextid() {
  local id
  id=$(lxc_pve_read pvesh get /cluster/nextid --output-format json) ||
    lxc_die "$LXC_EXIT_CREATE" "pvesh get /cluster/nextid failed" "is this a Proxmox VE node? run as root"
  id=${id//[!0-9]/}
  [[ -n $id ]] || lxc_die "$LXC_EXIT_CREATE" "pvesh get /cluster/nextid returned no id"
  printf '%s' "$id"
}

# The tag that marks a container as created by this deploy.
lxc_container_tag() {
  printf 'lxcm-%s' "$LXC_DEPLOY_ID"
}

# True when VMID exists and carries this deploy's tag (so it is ours to continue).
lxc_container_is_ours() {
  local vmid=$1 config
  config=$(lxc_pve_read pct config "$vmid") || return 1
  local tag
  tag=$(lxc_container_tag)
  grep -E '^tags:' <<<"$config" | tr ';, ' '\n' | grep -qxF -- "$tag"
}

# True when VMID exists at all.
lxc_container_exists() {
  lxc_pve_read pct status "$1" >/dev/null 2>&1
}

# The full `pct create` argv for VMID into the array named $1.
lxc_container_create_argv() {
  local -n _lxc_create=$1
  local vmid=$2 tags desc
  tags=$(printf '%s;' lxcm "${LXC_TAGS[@]}" "$(lxc_container_tag)")
  desc="Deployed by lxc deploy.sh from template ${LXC_CFG[name]}${LXC_CFG[version]:+ ${LXC_CFG[version]}}; deploy id $LXC_DEPLOY_ID"
  _lxc_create=(pct create "$vmid" "$LXC_OSTEMPLATE" "${LXC_CREATE_ARGS[@]}" --tags "${tags%;}" --description "$desc")
}

# Create the container: claim a VMID by creating with it; on "already exists" retry with a fresh id.
# On resume, a VMID recorded earlier that carries our tag is adopted instead of creating another container.
lxc_container_create() {
  local vmid attempt out rc argv
  vmid=$(lxc_state_get vmid)
  if [[ -n $vmid ]] && ! ((LXC_DRY_RUN)); then
    if lxc_container_is_ours "$vmid"; then
      lxc_log_info "container $vmid already exists and carries this deploy's tag: continuing with it"
      return 0
    elif lxc_container_exists "$vmid"; then
      [[ -z $LXC_VMID ]] || lxc_die "$LXC_EXIT_CREATE" "VMID $vmid exists and was not created by this deploy" \
        "choose another --vmid, or leave it out to take the next free id"
      vmid=''
    fi
  fi
  [[ -n $vmid ]] || vmid=${LXC_VMID:-$(lxc_container_nextid)}
  if ((LXC_DRY_RUN)); then
    [[ -n $LXC_VMID ]] || lxc_plan_note "VMID $vmid is the next free id now; the real run claims it at create time"
    lxc_container_create_argv argv "$vmid"
    lxc_pve_run "${argv[@]}"
    lxc_state_set vmid "$vmid"
    return 0
  fi
  for ((attempt = 1; attempt <= LXC_CREATE_ATTEMPTS; attempt++)); do
    lxc_state_set vmid "$vmid"
    lxc_container_create_argv argv "$vmid"
    lxc_log_info "creating container $vmid from ${LXC_OSTEMPLATE}"
    rc=0
    lxc_pve_run_capture out "${argv[@]}" || rc=$?
    ((rc == 0)) && return 0
    if [[ $out == *"already exists"* ]]; then
      if lxc_container_is_ours "$vmid"; then return 0; fi
      [[ -z $LXC_VMID ]] || lxc_die "$LXC_EXIT_CREATE" "VMID $vmid already exists" \
        "choose another --vmid, or leave it out to take the next free id"
      lxc_log_warn "VMID $vmid was taken meanwhile; retrying with a new id (attempt $((attempt + 1)) of $LXC_CREATE_ATTEMPTS)"
      local next
      next=$(lxc_container_nextid)
      ((next > vmid)) || next=$((vmid + 1))
      vmid=$next
      continue
    fi
    lxc_state_set vmid ''
    lxc_die "$LXC_EXIT_CREATE" "pct create failed (exit $rc)${out:+: $out}" "see the log: $LXC_LOG_FILE"
  done
  lxc_state_set vmid ''
  lxc_die "$LXC_EXIT_CREATE" "could not claim a free VMID after $LXC_CREATE_ATTEMPTS attempts"
}

# Start the container unless it is already running.
lxc_container_start() {
  local vmid=$1 status
  if ! ((LXC_DRY_RUN)); then
    status=$(lxc_pve_read pct status "$vmid" 2>/dev/null || true)
    if [[ $status == *running* ]]; then
      lxc_log_info "container $vmid is already running"
      return 0
    fi
  fi
  lxc_pve_run pct start "$vmid" || lxc_die "$LXC_EXIT_START" "pct start $vmid failed" "see the log: $LXC_LOG_FILE"
}

# Wait until the container has a global IPv4 address; record it in the state as "ip".
lxc_container_wait_network() {
  local vmid=$1 i out ip=''
  if ((LXC_DRY_RUN)); then
    lxc_plan_note "wait up to ${LXC_NETWORK_TIMEOUT}s for an IPv4 address: pct exec $vmid -- ip -4 -o addr show scope global"
    return 0
  fi
  for ((i = 0; i < LXC_NETWORK_TIMEOUT; i++)); do
    out=$(lxc_pve_read pct exec "$vmid" -- ip -4 -o addr show scope global 2>/dev/null || true)
    ip=$(awk '{for (i = 1; i < NF; i++) if ($i == "inet") {split($(i + 1), a, "/"); print a[1]; exit}}' <<<"$out")
    [[ -n $ip ]] && break
    sleep 1
  done
  [[ -n $ip ]] || lxc_die "$LXC_EXIT_START" "container $vmid has no IPv4 address after ${LXC_NETWORK_TIMEOUT}s" \
    "check the bridge and DHCP: pct config $vmid; pct exec $vmid -- ip addr"
  lxc_state_set ip "$ip"
  lxc_log_info "container $vmid is up at $ip"
}
