#!/usr/bin/env bash
# Builds if needed, then serves a development instance (created with demo data on first run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-built.sh >&2
exec node bin/sts.js serve --dev "$@"
