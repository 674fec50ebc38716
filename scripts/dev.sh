#!/usr/bin/env bash
# make dev: the API with auto-reload and Vite's dev server (hot reload, /api proxied to the API).
set -Eeuo pipefail
trap 'echo "dev: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
host=${1:-127.0.0.1}
port=${2:-8000}

.venv/bin/lxc-manager serve --host "$host" --port "$port" &
api_pid=$!
trap 'kill "$api_pid" 2>/dev/null || true' EXIT INT TERM
echo "API on http://$host:$port — open the SPA at http://127.0.0.1:5173" >&2
cd frontend
LXCM_BACKEND_URL="http://$host:$port" npx vite --host 127.0.0.1 --port 5173
