#!/usr/bin/env bash
# Run ShellCheck on every shell script: *.sh, *.bash, *.bats and extensionless files with a
# sh/bash shebang under infra/, scripts/ and tests/infra/. Inline disables only (no .shellcheckrc).
set -Eeuo pipefail
cd "$(dirname "$0")/.."
command -v shellcheck >/dev/null || { echo "shellcheck is missing: apt-get install -y shellcheck" >&2; exit 3; }
files=()
while IFS= read -r -d '' file; do
  case $file in
    *.sh | *.bash | *.bats) files+=("$file") ;;
    *) if head -n 1 "$file" | grep -qE '^#!.*\b(ba)?sh\b'; then files+=("$file"); fi ;;
  esac
done < <(find infra scripts tests/infra -type f ! -name '*.py' ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 2>/dev/null)
bats_files=() other=()
for file in "${files[@]}"; do
  if [[ $file == *.bats ]]; then bats_files+=("$file"); else other+=("$file"); fi
done
shellcheck -x "${other[@]}"
((${#bats_files[@]} == 0)) || shellcheck -x -s bash "${bats_files[@]}"
echo "shellcheck: ${#files[@]} files clean"
