#!/usr/bin/env bash
# Everything a fresh machine needs before the demo or the tests: the package
# (npm ci builds it), a running Docker engine, and Chromium for the
# dashboard's browser tests. Idempotent and quiet when there is nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-engine.sh
bash scripts/ensure-browser.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
# The build's own scripts count too (scripts/bundle-*.mjs make dist/cli/scan.cjs, the dashboard's bundle...).
[ -f dist/cli/main.js ] && [ -z "$(find src scripts -newer dist/cli/main.js \( -name '*.ts' -o -name '*.tsx' -o -name '*.css' -o -name '*.html' -o -name 'bundle-*.mjs' \) -print -quit)" ] || npm run --silent build
