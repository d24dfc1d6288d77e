#!/usr/bin/env bash
# Installs axe-core (the accessibility checker the browser tests inject into pages) from npm
# into target/axe/, which is not committed. The browser tests run this when it is missing;
# CI runs it before the tests. Prints the path of axe.min.js.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${KEYWARD_AXE_DIR:-target/axe}"
file="$dir/node_modules/axe-core/axe.min.js"
if [ ! -f "$file" ]; then
  mkdir -p "$dir"
  npm install --silent --no-audit --no-fund --no-save --prefix "$dir" axe-core@4 >&2
fi
echo "$(cd "$(dirname "$file")" && pwd)/axe.min.js"
