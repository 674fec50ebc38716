# shellcheck shell=bash
# Installing the resolved packages (buckets in order, then extra) with apt-get inside the container.

# apt-get update, then install every package in one transaction, non-interactively.
lxc_packages_install() {
  local vmid=$1
  if ((${#LXC_PACKAGES[@]} == 0)); then
    lxc_log_info "no packages to install"
    return 0
  fi
  local apt=(pct exec "$vmid" -- env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o Acquire::Retries=3)
  lxc_log_info "installing ${#LXC_PACKAGES[@]} packages: ${LXC_PACKAGES[*]}"
  lxc_pve_run "${apt[@]}" update ||
    lxc_die "$LXC_EXIT_PROVISION" "apt-get update failed in container $vmid" \
      "check the container's network and mirror: pct exec $vmid -- apt-get update; log: $LXC_LOG_FILE"
  lxc_pve_run "${apt[@]}" -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    install "${LXC_PACKAGES[@]}" ||
    lxc_die "$LXC_EXIT_PROVISION" "apt-get install failed in container $vmid" "see the log: $LXC_LOG_FILE"
}
