#!/usr/bin/env bash
# Regenerate the single initial migration from the models. Valid only while no release has shipped
# the schema; afterwards every change gets its own revision (`alembic revision --autogenerate`).
set -Eeuo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -f migrations/versions/0001_initial.py
LXCM_DATABASE_URL="sqlite+aiosqlite:///$tmp/regen.db" .venv/bin/alembic revision --autogenerate \
  --rev-id 0001 -m initial >/dev/null
.venv/bin/ruff format -q migrations/versions/0001_initial.py
.venv/bin/ruff check -q --fix migrations/versions/0001_initial.py || true
echo "migrations/versions/0001_initial.py regenerated"
