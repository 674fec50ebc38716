#!/usr/bin/env bash
# Solidity security tools: Slither (PyPI, pinned) and Solhint (npm, pinned).
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../files/lib/common.sh
source /opt/forge-shield/lib/common.sh

fs_pipx_install slither-analyzer "$SLITHER_VERSION" slither
fs_npm_global "solhint@$SOLHINT_VERSION"
fs_log "slither $SLITHER_VERSION, solhint $SOLHINT_VERSION"
