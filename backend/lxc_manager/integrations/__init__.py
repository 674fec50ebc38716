"""Clients for external systems (Proxmox, SSH). Depend on core only: no DB, no FastAPI."""
