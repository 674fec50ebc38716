# shellcheck shell=bash
# Deploy state: which steps are done, so an interrupted deploy resumes where it stopped.
#
# <state-dir>/<deploy-id>.state   key=value lines (written atomically: temp file + rename)
# <state-dir>/<deploy-id>.log     the full log
# <state-dir>/<deploy-id>.d/      plan.json, inputs/ (0600 env + secrets), credentials (0600)
# Keys: deploy_id template template_dir node vmid status (running|failed|succeeded) failed_step
#       created_at updated_at step.<name>=done

declare -gA LXC_STATE=()
LXC_STATE_FILE=${LXC_STATE_FILE:-}

# Choose the state file for the current deploy id and create the state dir (0700) unless in dry-run.
lxc_state_init() {
  # shellcheck disable=SC2153  # LXC_DEPLOY_ID is set by deploy.sh before this is called
  LXC_STATE_FILE=$LXC_STATE_DIR/$LXC_DEPLOY_ID.state
  LXC_DEPLOY_DIR=$LXC_STATE_DIR/$LXC_DEPLOY_ID.d
  ((LXC_DRY_RUN)) && return 0
  if ! mkdir -p "$LXC_STATE_DIR" "$LXC_DEPLOY_DIR" 2>/dev/null; then
    lxc_die "$LXC_EXIT_STATE" "cannot create the state directory $LXC_STATE_DIR" \
      "run as root on the PVE host, or choose another one with --state-dir DIR"
  fi
  chmod 0700 "$LXC_STATE_DIR" "$LXC_DEPLOY_DIR"
}

# Take an exclusive lock on the deploy (fd 5), so two runs never work on the same deploy at once.
lxc_state_lock() {
  ((LXC_DRY_RUN)) && return 0
  exec 5>>"$LXC_STATE_FILE.lock"
  if command -v flock >/dev/null 2>&1 && ! flock -n 5; then
    lxc_die "$LXC_EXIT_STATE" "deploy $LXC_DEPLOY_ID is already running (lock $LXC_STATE_FILE.lock is held)"
  fi
}

# Read a state file into LXC_STATE (plain key=value lines; nothing is evaluated).
lxc_state_load() {
  local file=$1 line
  [[ -f $file ]] || lxc_die "$LXC_EXIT_STATE" "state file $file not found"
  LXC_STATE=()
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line == *=* && $line != \#* ]] || continue
    LXC_STATE[${line%%=*}]=${line#*=}
  done <"$file"
}

# Print the value of KEY (or DEFAULT when unset).
lxc_state_get() {
  printf '%s' "${LXC_STATE[$1]-${2:-}}"
}

# Set KEY=VALUE and write the state file atomically (memory only in dry-run).
lxc_state_set() {
  local key=$1 value=$2
  [[ $value != *$'\n'* ]] || lxc_die "$LXC_EXIT_INTERNAL" "state value for $key contains a newline"
  LXC_STATE[$key]=$value
  lxc_state_write
}

# Write LXC_STATE to the state file (sorted keys, temp file + rename so a crash never leaves half a file).
lxc_state_write() {
  ((LXC_DRY_RUN)) && return 0
  local ts key tmp=$LXC_STATE_FILE.tmp
  lxc_log_now ts
  LXC_STATE[updated_at]=$ts
  {
    printf '# lxc deploy state — written by deploy.sh, read by deploy.sh --resume\n'
    for key in $(printf '%s\n' "${!LXC_STATE[@]}" | LC_ALL=C sort); do
      printf '%s=%s\n' "$key" "${LXC_STATE[$key]}"
    done
  } >"$tmp"
  mv -f "$tmp" "$LXC_STATE_FILE"
}

# True when STEP has been recorded as done.
lxc_state_done() {
  [[ ${LXC_STATE[step.$1]-} == "done" ]]
}

# Record STEP as done.
lxc_state_mark() {
  lxc_state_set "step.$1" "done"
}

# Print the newest unfinished state file of TEMPLATE in the state dir (empty when none).
lxc_state_find_unfinished() {
  local template=$1 file newest='' line status tpl
  for file in "$LXC_STATE_DIR"/*.state; do
    [[ -f $file ]] || continue
    status='' tpl=''
    while IFS= read -r line; do
      case $line in
        status=*) status=${line#status=} ;;
        template=*) tpl=${line#template=} ;;
      esac
    done <"$file"
    [[ $tpl == "$template" && $status != succeeded ]] || continue
    if [[ -z $newest || $file -nt $newest ]]; then newest=$file; fi
  done
  printf '%s' "$newest"
}
