#!/usr/bin/env bash
# The test command (README: `npm test`): set up, type-check, then every test suite.
# Integration tests need root (network namespaces); they fail loudly, never skip silently, without it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc -p tsconfig.json
node scripts/check-kernel-boundary.mjs
npx prettier --check --log-level warn .
npx eslint --max-warnings 0 .
npx knip --no-progress
npx vitest run "$@"
