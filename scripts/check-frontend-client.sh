#!/usr/bin/env bash
# Fail when frontend/src/api/schema.d.ts is not what openapi/openapi.json generates (run `make frontend-client`).
set -Eeuo pipefail
trap 'echo "check-frontend-client: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/../frontend"

fresh=$(mktemp --suffix=.d.ts)
trap 'rm -f "$fresh"' EXIT
npx --no-install openapi-typescript ../openapi/openapi.json -o "$fresh" >/dev/null 2>&1
if ! diff -q "$fresh" src/api/schema.d.ts >/dev/null; then
  echo "frontend/src/api/schema.d.ts is stale against openapi/openapi.json — run: make frontend-client" >&2
  diff -u src/api/schema.d.ts "$fresh" | head -40 >&2 || true
  exit 1
fi
echo "frontend client up to date"
