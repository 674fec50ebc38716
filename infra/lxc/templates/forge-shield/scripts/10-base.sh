#!/usr/bin/env bash
# Base system: locale, time zone, unattended security updates, a cache folder. Idempotent.
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../files/lib/common.sh
source /opt/forge-shield/lib/common.sh

if ! locale -a 2>/dev/null | grep -qi '^en_US.utf8$'; then
  sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen
  locale-gen
fi
update-locale LANG=en_US.UTF-8

tz=${INPUT_TIMEZONE:-UTC}
[[ -f /usr/share/zoneinfo/$tz ]] || fs_die "unknown time zone: $tz"
if [[ $(readlink -f /etc/localtime) != "/usr/share/zoneinfo/$tz" ]]; then
  ln -sf "/usr/share/zoneinfo/$tz" /etc/localtime
  echo "$tz" >/etc/timezone
fi

fs_apt_install unattended-upgrades apt-transport-https
install -d -m 0755 "$FS_CACHE"
fs_log "base system ready ($tz)"
