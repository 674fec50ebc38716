# shellcheck shell=bash
# Verifying declared services from inside the container, and capturing declared credentials.
# Checks retry (services may still be starting): LXC_VERIFY_ATTEMPTS tries, LXC_VERIFY_INTERVAL s apart.

# Retry a read-only check command (pct exec …) until it succeeds; DESCRIPTION names it in messages.
lxc_verify_retry() {
  local description=$1 attempt
  shift
  for ((attempt = 1; attempt <= LXC_VERIFY_ATTEMPTS; attempt++)); do
    if "$@"; then
      lxc_log_info "ok: $description"
      return 0
    fi
    ((attempt < LXC_VERIFY_ATTEMPTS)) && sleep "$LXC_VERIFY_INTERVAL"
  done
  return 1
}

# True when systemd reports UNIT active in the container.
lxc_verify_unit() {
  lxc_pve_read pct exec "$1" -- systemctl is-active --quiet "$2" >/dev/null 2>&1
}

# True when something listens on PORT (tcp, or udp for PROTOCOL udp) in the container.
lxc_verify_port() {
  local flags=-ltn out
  [[ $3 == udp ]] && flags=-lun
  out=$(lxc_pve_read pct exec "$1" -- ss -H "$flags" sport = ":$2" 2>/dev/null) || return 1
  [[ -n $out ]]
}

# True when URL answers with a 2xx/3xx status when fetched from inside the container.
lxc_verify_http() {
  lxc_pve_read pct exec "$1" -- curl -fsS -k -o /dev/null --max-time 10 "$2" >/dev/null 2>&1
}

# Verify every declared service: unit active, port listening, web UI answering. Exit 13 on the first failure.
lxc_verify_services() {
  local vmid=$1 i name unit port proto path url
  if ((${#LXC_SERVICE_NAME[@]} == 0)); then
    lxc_log_info "no services declared"
    return 0
  fi
  for i in "${!LXC_SERVICE_NAME[@]}"; do
    name=${LXC_SERVICE_NAME[i]} unit=${LXC_SERVICE_UNIT[i]} port=${LXC_SERVICE_PORT[i]}
    proto=${LXC_SERVICE_PROTOCOL[i]} path=${LXC_SERVICE_WEB_UI[i]}
    url=''
    [[ -n $path ]] && url="$proto://127.0.0.1:$port$path"
    if ((LXC_DRY_RUN)); then
      [[ -n $unit ]] && lxc_plan_command pct exec "$vmid" -- systemctl is-active --quiet "$unit"
      [[ -n $port ]] && lxc_plan_command pct exec "$vmid" -- ss -H "$([[ $proto == udp ]] && echo -lun || echo -ltn)" sport = ":$port"
      [[ -n $url ]] && lxc_plan_command pct exec "$vmid" -- curl -fsS -k -o /dev/null --max-time 10 "$url"
      continue
    fi
    if [[ -n $unit ]] && ! lxc_verify_retry "service $name: unit $unit is active" lxc_verify_unit "$vmid" "$unit"; then
      lxc_die "$LXC_EXIT_VERIFY" "service $name: unit $unit is not active in container $vmid" \
        "inspect it: pct exec $vmid -- systemctl status $unit; pct exec $vmid -- journalctl -u $unit -n 50" \
        "then continue with: $(lxc_resume_hint)"
    fi
    if [[ -n $port ]] && ! lxc_verify_retry "service $name: port $port/${proto/http*/tcp} is listening" lxc_verify_port "$vmid" "$port" "$proto"; then
      lxc_die "$LXC_EXIT_VERIFY" "service $name: nothing listens on port $port in container $vmid" \
        "inspect it: pct exec $vmid -- ss -ltnup" "then continue with: $(lxc_resume_hint)"
    fi
    if [[ -n $url ]] && ! lxc_verify_retry "service $name: web UI $url answers" lxc_verify_http "$vmid" "$url"; then
      lxc_die "$LXC_EXIT_VERIFY" "service $name: web UI $url does not answer in container $vmid" \
        "inspect it: pct exec $vmid -- curl -v $url" "then continue with: $(lxc_resume_hint)"
    fi
  done
}

# Capture the declared credentials into <deploy>.d/credentials/<name> (0600). Values are never logged.
lxc_verify_capture_credentials() {
  local vmid=$1 i name value outputs='' dir=$LXC_DEPLOY_DIR/credentials
  ((${#LXC_CREDENTIAL_NAME[@]})) || return 0
  if ((LXC_DRY_RUN)); then
    for i in "${!LXC_CREDENTIAL_NAME[@]}"; do
      lxc_plan_note "capture credential ${LXC_CREDENTIAL_NAME[i]} from ${LXC_CREDENTIAL_FILE[i]:-output ${LXC_CREDENTIAL_OUTPUT[i]}} into $dir/ (0600)"
    done
    return 0
  fi
  (umask 077 && mkdir -p "$dir")
  for i in "${!LXC_CREDENTIAL_NAME[@]}"; do
    name=${LXC_CREDENTIAL_NAME[i]}
    if [[ -n ${LXC_CREDENTIAL_FILE[i]} ]]; then
      value=$(lxc_pve_secret pct exec "$vmid" -- cat "${LXC_CREDENTIAL_FILE[i]}") ||
        lxc_die "$LXC_EXIT_FINALIZE" "credential $name: cannot read ${LXC_CREDENTIAL_FILE[i]} in container $vmid"
    else
      if [[ -z $outputs ]]; then
        outputs=$(lxc_pve_secret pct exec "$vmid" -- cat "$LXC_CT_DIR/outputs" 2>/dev/null) || outputs=''
      fi
      value=$(awk -v k="${LXC_CREDENTIAL_OUTPUT[i]}" 'index($0, k "=") == 1 {v = substr($0, length(k) + 2)} END {printf "%s", v}' <<<"$outputs")
      [[ -n $value ]] || lxc_die "$LXC_EXIT_FINALIZE" "credential $name: no ${LXC_CREDENTIAL_OUTPUT[i]}=… line in \$LXCM_OUTPUT_FILE"
    fi
    (umask 077 && printf '%s' "$value" >"$dir/$name")
    lxc_log_info "credential $name saved to $dir/$name"
  done
}
