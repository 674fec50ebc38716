# shellcheck shell=bash
# Template configuration: dependency checks, template lookup, and loading the plan resolved by manifest.py.
#
# manifest.py does all YAML parsing and validation; the shell only reads its NUL-separated key/value output
# into arrays (read -d ''), so no template text is ever evaluated by bash.

LXC_PYTHON=${LXC_PYTHON:-python3}

declare -gA LXC_CFG=()
declare -ga LXC_TAGS=() LXC_CREATE_ARGS=() LXC_PACKAGES=() LXC_SCRIPTS=() LXC_INPUT_DISPLAY=() LXC_SECRET_INPUTS=()
# shellcheck disable=SC2034  # filled through lxc_config_push (a nameref) and read by the other modules
declare -ga LXC_HOOK_PRE_CREATE=() LXC_HOOK_POST_CREATE=() LXC_HOOK_POST_START=() \
  LXC_HOOK_PRE_PROVISION=() LXC_HOOK_POST_PROVISION=() LXC_HOOK_POST_VERIFY=() \
  LXC_FILE_SOURCE=() LXC_FILE_DESTINATION=() LXC_FILE_USER=() LXC_FILE_GROUP=() LXC_FILE_MODE=() \
  LXC_SERVICE_NAME=() LXC_SERVICE_UNIT=() LXC_SERVICE_PORT=() LXC_SERVICE_PROTOCOL=() LXC_SERVICE_WEB_UI=() \
  LXC_CREDENTIAL_NAME=() LXC_CREDENTIAL_FILE=() LXC_CREDENTIAL_OUTPUT=()

# Fail with exit 3 and an install hint unless python3 with PyYAML is available.
lxc_config_check_deps() {
  if ! command -v "$LXC_PYTHON" >/dev/null 2>&1; then
    lxc_die "$LXC_EXIT_DEPENDENCY" "python3 is required to read template.yaml but was not found ($LXC_PYTHON)" \
      "install it with: apt-get install -y python3 python3-yaml"
  fi
  if ! "$LXC_PYTHON" -c 'import yaml' >/dev/null 2>&1; then
    lxc_die "$LXC_EXIT_DEPENDENCY" "python3 has no PyYAML module (needed to read template.yaml)" \
      "install it with: apt-get install -y python3-yaml"
  fi
  if "$LXC_PYTHON" -c 'import jsonschema' >/dev/null 2>&1; then
    lxc_log_debug "validating with python3-jsonschema"
  else
    lxc_log_debug "python3-jsonschema not installed: using the built-in structural check of the same schema"
  fi
}

# Find the template folder for NAME (a name under the templates dir, or a path to a folder) → LXC_CFG[template_dir].
lxc_config_find_template() {
  local ref=$1 dir
  if [[ $ref == */* || -d $ref && ! $ref =~ ^[a-z0-9][a-z0-9-]*$ ]]; then
    dir=$ref
  elif [[ $ref =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]]; then
    dir=$LXC_TEMPLATES_DIR/$ref
  else
    lxc_die "$LXC_EXIT_TEMPLATE" "invalid template name '$ref' (lower-case letters, digits and '-')"
  fi
  if [[ ! -f $dir/template.yaml ]]; then
    local available=()
    local candidate
    for candidate in "$LXC_TEMPLATES_DIR"/*/template.yaml; do
      [[ -f $candidate ]] && available+=("$(basename "$(dirname "$candidate")")")
    done
    lxc_die "$LXC_EXIT_TEMPLATE" "template '$ref' not found ($dir/template.yaml does not exist)" \
      "available templates in $LXC_TEMPLATES_DIR: ${available[*]:-none}"
  fi
  LXC_CFG[template_dir]=$(cd "$dir" && pwd -P)
}

# Run manifest.py resolve: validate the template and inputs, write PLAN_OUT (and the env dir unless empty).
# The --set values travel NUL-separated on stdin, never in argv. Exit 4/5 come back as LXC exit codes.
lxc_config_resolve() {
  local plan_out=$1 env_dir=$2
  shift 2
  local args=(resolve --template-dir "${LXC_CFG[template_dir]}" --buckets-dir "$LXC_BUCKETS_DIR"
    --schema-dir "$LXC_SCHEMA_DIR" --deploy-id "$LXC_DEPLOY_ID" --storage "$LXC_STORAGE"
    --plan-out "$plan_out")
  [[ -n $LXC_HOSTNAME ]] && args+=(--hostname "$LXC_HOSTNAME")
  [[ -n $LXC_BRIDGE ]] && args+=(--bridge "$LXC_BRIDGE")
  [[ -n $env_dir ]] && args+=(--env-file-dir "$env_dir")
  local errors rc=0
  errors=$(lxc_config_sets_stream | "$LXC_PYTHON" "$LXC_LIB/manifest.py" "${args[@]}" 2>&1 >/dev/null) || rc=$?
  case $rc in
    0) ;;
    4) lxc_die "$LXC_EXIT_TEMPLATE" "$errors" ;;
    5) lxc_die "$LXC_EXIT_INPUT" "$errors" ;;
    3) lxc_die "$LXC_EXIT_DEPENDENCY" "$errors" ;;
    *) lxc_die "$LXC_EXIT_TEMPLATE" "reading the template failed (manifest.py exit $rc): $errors" ;;
  esac
}

# Print the --set values NUL-separated (for manifest.py's stdin).
lxc_config_sets_stream() {
  if ((${#LXC_SETS[@]})); then printf '%s\0' "${LXC_SETS[@]}"; fi
}

# Append VALUE to the array named NAME.
lxc_config_push() {
  local -n _lxc_arr=$1
  _lxc_arr+=("$2")
}

# Load a resolved plan (JSON written by manifest.py) into LXC_CFG and the LXC_* arrays.
lxc_config_load() {
  local plan=$1 key value
  while IFS= read -r -d '' key && IFS= read -r -d '' value; do
    case $key in
      deploy_id | name | description | version | template_dir | storage | hostname | os_template | os_volid)
        LXC_CFG[$key]=$value ;;
      tag) LXC_TAGS+=("$value") ;;
      create_arg) LXC_CREATE_ARGS+=("$value") ;;
      package) LXC_PACKAGES+=("$value") ;;
      script) LXC_SCRIPTS+=("$value") ;;
      input_display) LXC_INPUT_DISPLAY+=("$value") ;;
      secret_input) LXC_SECRET_INPUTS+=("$value") ;;
      hook_pre_create | hook_post_create | hook_post_start | hook_pre_provision | hook_post_provision | hook_post_verify)
        lxc_config_push "LXC_${key^^}" "$value" ;;
      file_source | file_destination | file_user | file_group | file_mode)
        lxc_config_push "LXC_${key^^}" "$value" ;;
      service_name | service_unit | service_port | service_protocol | service_web_ui)
        lxc_config_push "LXC_${key^^}" "$value" ;;
      credential_name | credential_file | credential_output)
        lxc_config_push "LXC_${key^^}" "$value" ;;
      *) lxc_die "$LXC_EXIT_INTERNAL" "unexpected key '$key' from manifest.py (engine and manifest.py out of step)" ;;
    esac
  done < <("$LXC_PYTHON" "$LXC_LIB/manifest.py" emit "$plan")
  [[ -n ${LXC_CFG[name]:-} ]] || lxc_die "$LXC_EXIT_INTERNAL" "could not read the plan $plan"
}
