"""What the deployment wizard needs from a node: storages, bridges, OS templates, a VMID, template defaults."""
