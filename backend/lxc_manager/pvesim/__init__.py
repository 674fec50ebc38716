"""A faithful Proxmox VE cluster simulator: HTTPS API, SSH ``pct`` side, container backends (docs/simulator.md)."""
