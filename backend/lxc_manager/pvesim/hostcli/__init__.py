"""The simulator's host command line: ``pct``, ``pvesh``, ``pveam`` and ``pvesm`` for programs that run "on the node".

``lxc-manager pve-sim`` writes tiny shims into ``<state-dir>/bin/`` that ``exec`` this package with the state dir, so
a PATH starting with that folder makes this machine behave like a PVE node's shell for the bash engine
(``infra/lxc/deploy.sh``). API-backed subcommands go through the simulator's HTTPS API with the admin token and the
pinned certificate fingerprint from ``connection.json`` (``ProxmoxClient``); a write waits for its task and prints
the task log, as the real CLI does. ``pct exec/push/pull`` run through the node's SSH server (host key pinned), so
they reach the same container backend the product's provisioning uses. Nothing is passed through a shell.
"""
