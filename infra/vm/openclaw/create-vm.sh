#!/usr/bin/env bash
# Usage: create-vm.sh --ssh-key FILE [options]
#
# Create the OpenClaw desktop VM on this Proxmox VE node from the Debian 13 generic cloud image, the way
# the Proxmox community scripts do it: download the image (verified against Debian's SHA512SUMS), qm create,
# import the disk, add a cloud-init drive, resize, start. The software comes afterwards from run-scripts.sh.
#
# Options:
#   --ssh-key FILE     public key(s) for the VM user (required)
#   --vmid N           VMID (default: the next free id)
#   --storage S        disk storage (default: VM_STORAGE in template.conf)
#   --bridge B         network bridge (default: VM_BRIDGE)
#   --config FILE      settings (default: template.conf beside this script)
#   --cache DIR        image cache (default: /var/lib/openclaw-vm/cache)
#   --no-start         create but do not start the VM
#   --dry-run          print the plan (the exact qm commands) and change nothing
#   -h, --help         show this help
#
# Exit codes: 0 ok · 2 usage · 3 missing dependency · 4 config · 5 VMID taken · 6 image download or
#   checksum · 10 a qm step failed (the partly created VM is kept; the message says how to remove it).
set -Eeuo pipefail
if ((BASH_VERSINFO[0] < 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] < 4))); then
  echo "create-vm.sh needs bash 4.4 or newer" >&2
  exit 3
fi

VM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=infra/vm/openclaw/lib/common.bash
source "$VM_ROOT/lib/common.bash"

VM_CONFIG=$VM_ROOT/template.conf VM_CACHE=/var/lib/openclaw-vm/cache VM_DRY_RUN=0 VM_START=1
VMID='' SSH_KEY='' STORAGE='' BRIDGE='' VM_CREATED=0 IMAGE=

# Print the usage block at the top of this file.
usage() {
  sed -n '2,/^set -Eeuo/{/^set -Eeuo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

# Exit 2 with a usage error.
usage_error() {
  printf 'create-vm.sh: %s\nTry create-vm.sh --help.\n' "$1" >&2
  exit "$VM_EXIT_USAGE"
}

# Parse the command line.
parse_args() {
  while (($#)); do
    case $1 in
      -h | --help) usage; exit 0 ;;
      --dry-run) VM_DRY_RUN=1 ;;
      --no-start) VM_START=0 ;;
      --ssh-key | --vmid | --storage | --bridge | --config | --cache)
        (($# >= 2)) || usage_error "$1 needs a value"
        case $1 in
          --ssh-key) SSH_KEY=$2 ;;
          --vmid) [[ $2 =~ ^[1-9][0-9]{2,8}$ ]] || usage_error "--vmid must be a number ≥ 100"; VMID=$2 ;;
          --storage) STORAGE=$2 ;;
          --bridge) BRIDGE=$2 ;;
          --config) VM_CONFIG=$2 ;;
          --cache) VM_CACHE=$2 ;;
        esac
        shift ;;
      *) usage_error "unknown argument $1" ;;
    esac
    shift
  done
  [[ -n $SSH_KEY ]] || usage_error "--ssh-key FILE is required (the VM user logs in with it)"
  [[ -f $SSH_KEY ]] || usage_error "--ssh-key: $SSH_KEY is not a file"
  grep -qE '^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp[0-9]+) ' "$SSH_KEY" || usage_error "--ssh-key: $SSH_KEY holds no SSH public key"
}

# After a failure past qm create: say how to inspect or remove the partial VM.
vm_failure_hint() {
  ((VM_CREATED)) || return 0
  printf '  VM %s was created partly and is kept for inspection: qm config %s\n' "$VMID" "$VMID"
  printf '  remove it with: qm destroy %s --purge   then run create-vm.sh again\n' "$VMID"
}

# Check the tools, the VMID and the storage.
preflight() {
  VM_STEP=preflight
  local tool
  for tool in qm pvesm pvesh curl sha512sum; do
    command -v "$tool" >/dev/null || vm_die "$VM_EXIT_DEPENDENCY" "$tool not found: run this on a Proxmox VE node as root"
  done
  STORAGE=${STORAGE:-$(vm_conf VM_STORAGE)}
  BRIDGE=${BRIDGE:-$(vm_conf VM_BRIDGE)}
  [[ $BRIDGE =~ ^[A-Za-z][A-Za-z0-9_.-]{0,15}$ ]] || vm_die "$VM_EXIT_CONFIG" "invalid bridge name $BRIDGE"
  if [[ -z $VMID ]]; then
    VMID=$(pvesh get /cluster/nextid --output-format json | tr -dc '0-9')
    [[ -n $VMID ]] || vm_die "$VM_EXIT_DEPENDENCY" "pvesh get /cluster/nextid returned no id"
  fi
  if qm status "$VMID" >/dev/null 2>&1; then
    vm_die 5 "VMID $VMID is already in use" "choose another with --vmid, or leave it out for the next free id"
  fi
  pvesm status --storage "$STORAGE" >/dev/null 2>&1 ||
    vm_die "$VM_EXIT_CONFIG" "storage $STORAGE not found (pvesm status --storage $STORAGE)"
}

# Download the cloud image once and verify it against the published SHA512SUMS (also for a cached copy).
fetch_image() {
  VM_STEP=image
  local base file sums expected actual
  base=$(vm_conf IMAGE_BASE_URL) file=$(vm_conf IMAGE_FILE) sums=$(vm_conf IMAGE_SUMS)
  [[ $base == https://* ]] || vm_die "$VM_EXIT_CONFIG" "IMAGE_BASE_URL must be https://"
  IMAGE=$VM_CACHE/$file
  if ((VM_DRY_RUN)); then
    printf '  curl -fsSL -o %s %s/%s   (then verify against %s/%s)\n' "$IMAGE" "$base" "$file" "$base" "$sums"
    return 0
  fi
  mkdir -p "$VM_CACHE"
  curl -fsSL --proto '=https' --retry 3 -o "$VM_CACHE/$sums" "$base/$sums" ||
    vm_die 6 "cannot download $base/$sums"
  expected=$(awk -v f="$file" '$2 == f || $2 == "*" f {print $1; exit}' "$VM_CACHE/$sums")
  [[ $expected =~ ^[0-9a-f]{128}$ ]] || vm_die 6 "$file is not listed in $sums"
  if [[ -f $IMAGE ]] && [[ $(sha512sum "$IMAGE" | cut -d' ' -f1) == "$expected" ]]; then
    vm_log "image $file: cached copy verified"
    return 0
  fi
  vm_log "downloading $base/$file"
  curl -fsSL --proto '=https' --retry 3 -o "$IMAGE.part" "$base/$file" || vm_die 6 "cannot download $base/$file"
  actual=$(sha512sum "$IMAGE.part" | cut -d' ' -f1)
  if [[ $actual != "$expected" ]]; then
    rm -f "$IMAGE.part"
    vm_die 6 "checksum mismatch for $file: expected $expected, got $actual"
  fi
  mv -f "$IMAGE.part" "$IMAGE"
  vm_log "image $file: SHA-512 verified"
}

# Put the cloud-init bootstrap on the snippets storage as VOLID.
install_snippet() {
  local volid=$1 path
  if ((VM_DRY_RUN)); then
    # shellcheck disable=SC2016  # the plan shows the command substitution literally, as the user would type it
    printf '  install -m 0644 %s "$(pvesm path %s)"\n' "$VM_ROOT/cloud-init/bootstrap.yaml" "$volid"
    return 0
  fi
  path=$(pvesm path "$volid") || vm_die "$VM_EXIT_CONFIG" "storage ${volid%%:*} has no snippets content type" \
    "enable it: pvesm set ${volid%%:*} --content vztmpl,iso,backup,snippets"
  mkdir -p "$(dirname "$path")"
  install -m 0644 "$VM_ROOT/cloud-init/bootstrap.yaml" "$path"
}

# qm create … start.
create_vm() {
  local name cores memory size user tags vendor
  name=$(vm_conf VM_NAME) cores=$(vm_conf VM_CORES) memory=$(vm_conf VM_MEMORY)
  size=$(vm_conf VM_DISK_SIZE) user=$(vm_conf VM_USER) tags=$(vm_conf VM_TAGS)
  VM_STEP=create
  vm_log "creating VM $VMID ($name) on $STORAGE"
  vm_run qm create "$VMID" --name "$name" --ostype l26 --machine q35 --bios ovmf --cpu host \
    --cores "$cores" --memory "$memory" --agent enabled=1 --scsihw virtio-scsi-single \
    --net0 "virtio,bridge=$BRIDGE" --vga std --onboot 1 --tags "$tags" \
    --description "OpenClaw desktop VM (infra/vm/openclaw)"
  VM_CREATED=1
  VM_STEP=efidisk
  vm_run qm set "$VMID" --efidisk0 "$STORAGE:1,efitype=4m,pre-enrolled-keys=0"
  VM_STEP=import-disk
  vm_run qm set "$VMID" --scsi0 "$STORAGE:0,import-from=$IMAGE,discard=on,ssd=1,iothread=1" --boot order=scsi0
  VM_STEP=cloud-init
  vendor=$(vm_conf SNIPPETS_STORAGE):snippets/openclaw-$VMID-vendor.yaml
  install_snippet "$vendor"
  vm_run qm set "$VMID" --ide2 "$STORAGE:cloudinit" --ciuser "$user" --sshkeys "$SSH_KEY" \
    --ipconfig0 ip=dhcp --cicustom "vendor=$vendor"
  VM_STEP=resize
  vm_run qm resize "$VMID" scsi0 "$size"
  if ((VM_START)); then
    VM_STEP=start
    vm_run qm start "$VMID"
  fi
}

# Entry point.
main() {
  parse_args "$@"
  local log=''
  ((VM_DRY_RUN)) || log=${VM_LOG_DIR:-/var/log/openclaw-vm}/create-$(date -u +%Y%m%d-%H%M%S).log
  vm_log_open "$log"
  trap vm_on_error ERR
  vm_conf_load "$VM_CONFIG"
  preflight
  ((VM_DRY_RUN)) && printf 'Plan for VM %s (dry run: nothing is changed)\n' "$VMID"
  fetch_image
  create_vm
  trap - ERR
  if ((VM_DRY_RUN)); then return 0; fi
  vm_log "VM $VMID created$( ((VM_START)) && printf ' and started')."
  vm_log "next: infra/vm/openclaw/run-scripts.sh --vmid $VMID   (installs the desktop, Chrome, Node.js, VNC, OpenClaw)"
}

main "$@"
