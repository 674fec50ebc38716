"""``python -m lxc_manager.pvesim.hostcli``: see ``main.py``."""

from lxc_manager.pvesim.hostcli.main import main

raise SystemExit(main())
