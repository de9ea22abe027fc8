#!/usr/bin/env bash
# Installs the npm dependencies when they are missing or stale, then compiles TypeScript to dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ] || \
   { [ -f package-lock.json ] && [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  npm install --no-audit --no-fund
fi
rm -rf dist
npx tsc -p .
