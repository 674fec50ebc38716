"""Container backends of the PVE simulator beyond the in-memory one (``lxc``: real LXC containers)."""
