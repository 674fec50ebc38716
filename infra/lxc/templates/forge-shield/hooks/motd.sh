#!/usr/bin/env bash
# post-verify: a login banner listing the tool set (re-runnable: rewrites the same file).
set -Eeuo pipefail
# shellcheck source-path=SCRIPTDIR source=../files/versions.env
source /opt/forge-shield/versions.env
cat >/etc/motd <<MOTD

  forge-shield — full-stack + EVM development with security tooling
  node $NODE_VERSION · go $GO_VERSION · rust $RUST_TOOLCHAIN · foundry $FOUNDRY_VERSION · solc $SOLC_VERSION
  claude code $CLAUDE_CODE_VERSION · opencode $OPENCODE_VERSION · gsd $GSD_VERSION
  slither $SLITHER_VERSION · semgrep $SEMGREP_VERSION · solhint $SOLHINT_VERSION · zap $ZAP_VERSION
  forge-audit · forge-zap-baseline URL · forge-verify

MOTD
echo "motd written"
