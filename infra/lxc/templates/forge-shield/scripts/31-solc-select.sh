#!/usr/bin/env bash
# solc-select (PyPI, pinned) and the pinned solc; solc-select checks each compiler's sha256 itself.
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../files/lib/common.sh
source /opt/forge-shield/lib/common.sh

fs_pipx_install solc-select "$SOLC_SELECT_VERSION" solc-select
if ! fs_user_has_version "$SOLC_VERSION" solc --version; then
  fs_as_user solc-select install "$SOLC_VERSION"
  fs_as_user solc-select use "$SOLC_VERSION"
fi
fs_log "solc $SOLC_VERSION"
