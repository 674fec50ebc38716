#!/usr/bin/env bash
# Verify the whole tool set as the user (forge-verify); the deploy fails when a tool is missing.
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../files/lib/common.sh
source /opt/forge-shield/lib/common.sh

fs_as_user /usr/local/bin/forge-verify
