#!/usr/bin/env bash
# The whole suite: typecheck, lint, unit tests, then integration tests against
# the real engine. One node:test run so the summary counts everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent build
npx tsc -p tsconfig.json --noEmit
npx eslint --max-warnings=0 src test
# Node 20's --test does not expand globs: list the files. Unit tests beside the
# code first, then integration tests; files run one at a time because the
# integration ones share the engine and its image cache.
mapfile -t files < <(find src -name '*.test.ts' | sort; find test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
