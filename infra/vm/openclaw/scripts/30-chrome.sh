#!/usr/bin/env bash
# Google Chrome from Google's signed apt repository. The signing key is checked against the pinned
# fingerprint (OPENCLAW_CHROME_KEY_FINGERPRINT) before apt trusts it.
set -Eeuo pipefail
if dpkg-query -W -f='${Status}' google-chrome-stable 2>/dev/null | grep -q "install ok installed"; then
  echo "Chrome already installed: $(google-chrome --version)"
  exit 0
fi
apt-get -q -y install --no-install-recommends gnupg curl ca-certificates
keyring=/etc/apt/keyrings/google-chrome.gpg
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL --proto '=https' -o "$tmp/key.asc" https://dl.google.com/linux/linux_signing_key.pub
gpg --batch --quiet --dearmor -o "$tmp/key.gpg" "$tmp/key.asc"
fingerprints=$(gpg --batch --with-colons --show-keys "$tmp/key.gpg" | awk -F: '$1 == "fpr" {print $10}')
grep -qx "${OPENCLAW_CHROME_KEY_FINGERPRINT:?}" <<<"$fingerprints" ||
  { echo "Google signing key fingerprint mismatch (want $OPENCLAW_CHROME_KEY_FINGERPRINT)" >&2; exit 1; }
install -d -m 0755 /etc/apt/keyrings
install -m 0644 "$tmp/key.gpg" "$keyring"
echo "deb [arch=amd64 signed-by=$keyring] https://dl.google.com/linux/chrome/deb/ stable main" \
  >/etc/apt/sources.list.d/google-chrome.list
apt-get -q update
apt-get -q -y install google-chrome-stable
echo "Chrome installed: $(google-chrome --version)"
