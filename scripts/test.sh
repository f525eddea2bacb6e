#!/usr/bin/env bash
# The whole suite: typecheck, lint, then one node:test run (so the summary
# counts everything): unit tests beside the code (src/, no engine needed),
# then integration tests against the real engine (test/).
#
#   bash scripts/test.sh          everything (CI)
#   bash scripts/test.sh --unit   the unit tests alone: no engine, no network
#                                 beyond loopback (npm run test:unit)
set -euo pipefail
cd "$(dirname "$0")/.."
unit=false
[ "${1:-}" = --unit ] && unit=true
if $unit; then
  [ -d node_modules ] || npm ci --no-audit --no-fund
else
  bash scripts/setup.sh
fi
npm run --silent build
npx tsc -p tsconfig.json --noEmit
npx eslint --max-warnings=0 src test
# Node 20's --test does not expand globs: list the files. Files run one at a
# time because the integration ones share the engine and its image cache.
mapfile -t files < <(find src -name '*.test.ts' | sort; $unit || find test -name '*.test.ts' | sort)
# The micro-VM guest kit is built once per run and shared by every test file (test/helpers.ts).
BOT_BOTTLE_TEST_MICROVM_CACHE=$(mktemp -d "${TMPDIR:-/tmp}/bb-test-microvm-cache.XXXXXX")
export BOT_BOTTLE_TEST_MICROVM_CACHE
trap 'rm -rf "$BOT_BOTTLE_TEST_MICROVM_CACHE"' EXIT
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
