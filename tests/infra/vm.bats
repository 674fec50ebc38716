#!/usr/bin/env bats
# The OpenClaw VM scripts with qm, pvesm, pvesh, curl and ssh stubbed: the plan, the order of qm calls,
# image checksum verification, error exits, and run-scripts.sh order/resume/secrets.

# shellcheck disable=SC2154  # status, output, stderr and lines are set by bats' run
setup() {
  load test_helper
  stub_setup
  VMDIR=$REPO_ROOT/infra/vm/openclaw
  export VM_LOG_DIR=$BATS_TEST_TMPDIR/log
  CACHE=$BATS_TEST_TMPDIR/cache
  ssh-keygen -q -t ed25519 -N '' -f "$BATS_TEST_TMPDIR/id" >/dev/null
  KEY=$BATS_TEST_TMPDIR/id.pub
  # The "published" image and its SHA512SUMS, served by the curl stub.
  mkdir -p "$STUB_DIR/www"
  printf 'qcow2 image bytes' >"$STUB_DIR/www/debian-13-generic-amd64.qcow2"
  (cd "$STUB_DIR/www" && sha512sum debian-13-generic-amd64.qcow2 >SHA512SUMS)
}

create_vm() {
  run --separate-stderr "$VMDIR/create-vm.sh" --ssh-key "$KEY" --cache "$CACHE" "$@"
}

@test "create-vm.sh --help and usage errors" {
  run "$VMDIR/create-vm.sh" --help
  assert_success
  assert_output --partial "Usage: create-vm.sh --ssh-key FILE"
  run --separate-stderr "$VMDIR/create-vm.sh"
  assert_equal "$status" 2
  [[ $stderr == *"--ssh-key FILE is required"* ]]
  printf 'not a key\n' >"$BATS_TEST_TMPDIR/bad.pub"
  run --separate-stderr "$VMDIR/create-vm.sh" --ssh-key "$BATS_TEST_TMPDIR/bad.pub"
  assert_equal "$status" 2
  assert_equal "$(stub_calls)" ""
}

@test "create-vm.sh downloads and verifies the image, then runs the qm steps in order" {
  create_vm
  assert_success
  assert_call_order \
    '^pvesh get /cluster/nextid' '^qm status 100$' '^pvesm status --storage local-lvm$' \
    '^curl .* -o \S+/cache/SHA512SUMS https://cloud\.debian\.org/images/cloud/trixie/latest/SHA512SUMS$' \
    '^curl .* -o \S+/cache/debian-13-generic-amd64\.qcow2\.part https://cloud\.debian\.org/.*/debian-13-generic-amd64\.qcow2$' \
    '^qm create 100 --name openclaw --ostype l26 --machine q35 --bios ovmf --cpu host --cores 4 --memory 8192 --agent enabled=1 --scsihw virtio-scsi-single --net0 virtio\\,bridge=vmbr0 --vga std --onboot 1 --tags openclaw\\;desktop ' \
    '^qm set 100 --efidisk0 local-lvm:1\\,efitype=4m\\,pre-enrolled-keys=0$' \
    '^qm set 100 --scsi0 local-lvm:0\\,import-from=\S+/cache/debian-13-generic-amd64\.qcow2\\,discard=on\\,ssd=1\\,iothread=1 --boot order=scsi0$' \
    '^pvesm path local:snippets/openclaw-100-vendor\.yaml$' \
    "^qm set 100 --ide2 local-lvm:cloudinit --ciuser claw --sshkeys \\S+/id\\.pub --ipconfig0 ip=dhcp --cicustom vendor=local:snippets/openclaw-100-vendor\\.yaml$" \
    '^qm resize 100 scsi0 64G$' '^qm start 100$'
  cmp "$VMDIR/cloud-init/bootstrap.yaml" "$STUB_DIR/pvesm/snippets/openclaw-100-vendor.yaml"
  [[ -f $CACHE/debian-13-generic-amd64.qcow2 && ! -e $CACHE/debian-13-generic-amd64.qcow2.part ]]
  [[ $stderr == *"SHA-512 verified"* && $stderr == *"run-scripts.sh --vmid 100"* ]]
}

@test "a cached image is re-verified and not downloaded again" {
  create_vm --vmid 120 --no-start
  assert_success
  stub_reset_calls
  rm -rf "$STUB_DIR/vm"
  create_vm --vmid 121 --no-start
  assert_success
  [[ $stderr == *"cached copy verified"* ]]
  assert_equal "$(stub_count 'curl .*qcow2')" 0
  assert_equal "$(stub_count '^qm start')" 0
}

@test "an image that does not match SHA512SUMS is refused before any qm change (exit 6)" {
  printf 'tampered' >"$STUB_DIR/www/debian-13-generic-amd64.qcow2"
  create_vm
  assert_equal "$status" 6
  [[ $stderr == *"checksum mismatch for debian-13-generic-amd64.qcow2"* ]]
  assert_equal "$(stub_count '^qm (create|set|start)')" 0
  [[ ! -e $CACHE/debian-13-generic-amd64.qcow2.part && ! -e $CACHE/debian-13-generic-amd64.qcow2 ]]
}

@test "a VMID in use exits 5; --dry-run only reads" {
  mkdir -p "$STUB_DIR/vm/130"
  create_vm --vmid 130
  assert_equal "$status" 5
  [[ $stderr == *"VMID 130 is already in use"* ]]
  stub_reset_calls
  create_vm --vmid 131 --dry-run
  assert_success
  [[ $output == *"qm create 131 --name openclaw"* && $output == *"qm start 131"* ]]
  run grep -vE '^(qm status|pvesm status|pvesh get) ' "$STUB_DIR/calls"
  assert_output ""
}

@test "a failing qm step exits 10 and says how to remove the partial VM" {
  stub_rule qm 'set * --scsi0 *' '*' 255 '' 'import failed: no space left\n'
  create_vm
  assert_equal "$status" 10
  [[ $stderr == *"step import-disk failed"* ]]
  [[ $stderr == *"qm destroy 100 --purge"* ]]
  assert_equal "$(stub_count '^qm start')" 0
}

run_scripts() {
  run --separate-stderr "$VMDIR/run-scripts.sh" --vmid 100 --state-dir "$BATS_TEST_TMPDIR/vmstate" "$@"
}

@test "run-scripts.sh runs every script in order through the guest agent, secrets on stdin only" {
  printf 'vnc-Secret-42\n' >"$BATS_TEST_TMPDIR/vncpw"
  run_scripts --vnc-password-file "$BATS_TEST_TMPDIR/vncpw"
  assert_success
  assert_call_order '^qm guest cmd 100 ping$' \
    '^qm guest exec 100 --timeout 3600 --pass-stdin 1 -- bash -s$'
  assert_equal "$(stub_count '^qm guest exec')" "$(find "$VMDIR/scripts" -name '[0-9][0-9]-*.sh' | wc -l)"
  refute_grep -F 'vnc-Secret-42' "$STUB_DIR/calls"
  refute_grep -rF 'vnc-Secret-42' "$BATS_TEST_TMPDIR/vmstate"
  # Each stdin is the env prelude followed by the script, in order 10, 20, 30, ….
  local stdins=("$STUB_DIR"/qm-stdin.*) i=0 script
  mapfile -t stdins < <(printf '%s\n' "${stdins[@]}" | sort -t. -k2 -n)
  for script in "$VMDIR"/scripts/[0-9][0-9]-*.sh; do
    grep -qx "export OPENCLAW_VNC_PASSWORD=vnc-Secret-42" "${stdins[i]}"
    grep -qx "export OPENCLAW_USER=claw" "${stdins[i]}"
    tail -n "$(wc -l <"$script")" "${stdins[i]}" | cmp - "$script"
    i=$((i + 1))
  done
}

@test "run-scripts.sh stops at a failing script (exit 10) and a re-run continues there" {
  stub_rule qm 'guest exec *' 3 0 '{"exitcode":4,"exited":1,"out-data":"chrome: boom\\n"}\n'
  run_scripts
  assert_equal "$status" 10
  [[ $stderr == *"30-chrome.sh failed with exit status 4 in VM 100"* ]]
  grep -q 'chrome: boom' "$BATS_TEST_TMPDIR/vmstate/100.scripts.log"
  [[ $(stat -c %a "$BATS_TEST_TMPDIR/vmstate/100.vnc-password") == 600 ]]
  stub_clear_rules
  stub_reset_calls
  run_scripts
  assert_success
  [[ $stderr == *"skip 10-desktop.sh (done)"* && $stderr == *"skip 20-user.sh (done)"* ]]
  assert_equal "$(stub_count '^qm guest exec')" 5  # 30, 40, 50, 60, 90
  local first
  first=$(find "$STUB_DIR" -name 'qm-stdin.*' | sort -t. -k2 -n | head -n 1)
  tail -n 3 "$VMDIR/scripts/30-chrome.sh" | cmp - <(tail -n 3 "$first")
}

@test "run-scripts.sh --ssh pipes each script to sudo bash over ssh; --dry-run lists and changes nothing" {
  run_scripts --ssh claw@10.0.0.5
  assert_success
  grep -q '^ssh -o BatchMode=yes -- claw@10.0.0.5 sudo bash -s$' "$STUB_DIR/calls"
  assert_equal "$(stub_count '^qm ')" 0
  stub_reset_calls
  run --separate-stderr "$VMDIR/run-scripts.sh" --vmid 101 --state-dir "$BATS_TEST_TMPDIR/dry" --dry-run
  assert_success
  [[ $output == *"run 10-desktop.sh in VM 101 via qm guest exec"* && $output == *"run 90-validate.sh"* ]]
  assert_equal "$(stub_calls)" ""
  [[ ! -e $BATS_TEST_TMPDIR/dry ]]
}
