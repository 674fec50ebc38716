#!/usr/bin/env bash
# Render the greeting into the page, store the admin password (0600) and start the web service.
# Idempotent: re-running rewrites the same files and restarts the unit.
set -Eeuo pipefail

: "${INPUT_GREETING:=Hello from LXC Template Manager}"
: "${INPUT_ADMIN_PASSWORD_FILE:?the admin_password input file is missing}"

# The greeting is user text: substitute it with Python (HTML-escaped), never through sed or eval.
# Rendering from index.html.in keeps a re-run idempotent.
python3 - /srv/www/index.html.in /srv/www/index.html <<'PY'
import html, os, sys
source, target = sys.argv[1], sys.argv[2]
with open(source, encoding="utf-8") as handle:
    page = handle.read()
page = page.replace("__GREETING__", html.escape(os.environ["INPUT_GREETING"]))
with open(target + ".tmp", "w", encoding="utf-8") as handle:
    handle.write(page)
os.chmod(target + ".tmp", 0o644)
os.replace(target + ".tmp", target)
PY

install -d -m 0700 -o root -g root /etc/minimal-web
install -m 0600 -o root -g root "$INPUT_ADMIN_PASSWORD_FILE" /etc/minimal-web/admin_password

systemctl daemon-reload
systemctl enable minimal-web.service
systemctl restart minimal-web.service
