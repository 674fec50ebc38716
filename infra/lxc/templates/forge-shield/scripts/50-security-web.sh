#!/usr/bin/env bash
# Web security tools: Semgrep (PyPI, pinned) and, unless install_zap=false, OWASP ZAP (pinned tarball,
# mandatory ZAP_SHA256 since upstream publishes no checksum file) with the Java runtime it needs.
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../files/lib/common.sh
source /opt/forge-shield/lib/common.sh

fs_pipx_install semgrep "$SEMGREP_VERSION" semgrep

if [[ ${INPUT_INSTALL_ZAP:-true} != true ]]; then
  fs_log "OWASP ZAP skipped (install_zap=false)"
  exit 0
fi
fs_apt_install openjdk-17-jre-headless
if [[ -f /opt/zap/.version && $(cat /opt/zap/.version) == "$ZAP_VERSION" ]]; then
  fs_log "ZAP $ZAP_VERSION already installed"
  exit 0
fi
name=ZAP_${ZAP_VERSION}_Linux.tar.gz
fs_download "https://github.com/zaproxy/zaproxy/releases/download/v$ZAP_VERSION/$name" "$FS_CACHE/$name"
fs_verify_pinned "$FS_CACHE/$name" "$ZAP_SHA256" ZAP_SHA256
rm -rf /opt/zap
install -d /opt/zap
tar -xzf "$FS_CACHE/$name" -C /opt/zap --strip-components=1 --no-same-owner
echo "$ZAP_VERSION" >/opt/zap/.version
ln -sf /opt/zap/zap.sh /usr/local/bin/zap
fs_log "ZAP $ZAP_VERSION installed in /opt/zap"
