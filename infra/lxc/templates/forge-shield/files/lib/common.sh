# shellcheck shell=bash
# Helpers shared by the forge-shield scripts (installed as /opt/forge-shield/lib/common.sh).
# Every install is idempotent (check first), every download is verified before use, nothing downloaded is
# piped into a shell.

set -Eeuo pipefail
FS_ROOT=${FS_ROOT:-/opt/forge-shield}
# shellcheck source-path=SCRIPTDIR source=../versions.env
source "$FS_ROOT/versions.env"

FS_USER=${INPUT_USERNAME:-dev}
FS_HOME=$(getent passwd "$FS_USER" | cut -d: -f6 || true)
FS_HOME=${FS_HOME:-/home/$FS_USER}
# shellcheck disable=SC2034  # used by the scripts that source this file
FS_CACHE=${FS_CACHE:-/var/cache/forge-shield}
export DEBIAN_FRONTEND=noninteractive

# Print a progress line prefixed with the script name.
fs_log() {
  printf '[%s] %s\n' "${0##*/}" "$*"
}

# Print an error and exit 1.
fs_die() {
  printf '[%s] error: %s\n' "${0##*/}" "$*" >&2
  exit 1
}

# Install Debian packages that are not installed yet.
fs_apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  fs_log "apt-get install ${missing[*]}"
  apt-get -q -y install "${missing[@]}"
}

# Download URL to DEST (atomically, over HTTPS only, with retries).
fs_download() {
  local url=$1 dest=$2
  [[ $url == https://* ]] || fs_die "refusing a non-HTTPS download: $url"
  mkdir -p "$(dirname "$dest")"
  fs_log "download $url"
  curl -fsSL --proto '=https' --tlsv1.2 --retry 3 --retry-delay 2 -o "$dest.part" "$url"
  mv -f "$dest.part" "$dest"
}

# Fail unless FILE has SHA-256 EXPECTED.
fs_verify_sha256() {
  local file=$1 expected=$2 actual
  [[ $expected =~ ^[0-9a-f]{64}$ ]] || fs_die "invalid SHA-256 '$expected' for ${file##*/}"
  actual=$(sha256sum "$file" | cut -d' ' -f1)
  if [[ $actual != "$expected" ]]; then
    rm -f "$file"
    fs_die "checksum mismatch for ${file##*/}: expected $expected, got $actual"
  fi
  fs_log "sha256 ok: ${file##*/}"
}

# Print the SHA-256 listed for NAME in a "sum  name" checksum file.
fs_sum_from_list() {
  local list=$1 name=$2 sum
  sum=$(awk -v n="$name" '$2 == n || $2 == "*" n {print $1; exit}' "$list")
  [[ -n $sum ]] || fs_die "$name is not listed in ${list##*/}"
  printf '%s' "$sum"
}

# Verify FILE against the published checksum PUBLISHED and, when set, the pin PINNED (both must agree).
fs_verify_published() {
  local file=$1 published=$2 pinned=${3:-}
  if [[ -n $pinned && $pinned != "$published" ]]; then
    fs_die "pinned SHA-256 of ${file##*/} ($pinned) differs from upstream's published one ($published)"
  fi
  fs_verify_sha256 "$file" "$published"
}

# Verify FILE against a mandatory pin (for artifacts whose upstream publishes no checksum).
fs_verify_pinned() {
  local file=$1 pinned=$2 var=$3
  [[ -n $pinned ]] || fs_die "${file##*/} has no published checksum: set $var in $FS_ROOT/versions.env (the template's files/versions.env) to its SHA-256"
  fs_verify_sha256 "$file" "$pinned"
}

# Run a command as the development user with a login environment.
fs_as_user() {
  runuser -u "$FS_USER" -- env HOME="$FS_HOME" USER="$FS_USER" \
    PATH="$FS_HOME/.local/bin:$FS_HOME/.cargo/bin:$FS_HOME/.foundry/bin:/usr/local/go/bin:/usr/local/bin:/usr/bin:/bin" "$@"
}

# True when COMMAND (run as the user) prints a version containing WANT.
fs_user_has_version() {
  local want=$1
  shift
  local out
  out=$(fs_as_user "$@" 2>/dev/null) || return 1
  [[ $out == *"$want"* ]]
}

# Install a pinned PyPI application for the user with pipx (idempotent).
fs_pipx_install() {
  local package=$1 version=$2 probe=$3
  if fs_user_has_version "$version" "$probe" --version; then
    fs_log "$package $version already installed"
    return 0
  fi
  fs_as_user pipx install --force "$package==$version"
}

# Install pinned npm packages globally (idempotent per package).
fs_npm_global() {
  local spec name version
  for spec in "$@"; do
    name=${spec%@*}
    version=${spec##*@}
    if [[ $(npm ls -g --depth=0 --json 2>/dev/null | jq -r --arg n "$name" '.dependencies[$n].version // empty') == "$version" ]]; then
      fs_log "$name@$version already installed"
      continue
    fi
    fs_log "npm install -g $name@$version"
    npm install -g --no-fund --no-audit "$name@$version"
  done
}
