"""``lxc-manager demo``: the whole product on one machine, with a simulated Proxmox cluster."""
