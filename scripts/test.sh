#!/usr/bin/env bash
# The whole test suite, from a fresh clone: dependencies, system tools, build, then mocha.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-system-tools.sh
bash scripts/ensure-built.sh
exec npx mocha "$@"
