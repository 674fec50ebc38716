#!/usr/bin/env bash
# Python: Debian's python3 + venv + pipx (from the packages), and uv for the user from PyPI, pinned.
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../files/lib/common.sh
source /opt/forge-shield/lib/common.sh

fs_apt_install python3 python3-venv python3-pip pipx
fs_pipx_install uv "$UV_VERSION" uv
fs_log "python $(python3 --version | cut -d' ' -f2), uv $UV_VERSION"
