#!/usr/bin/env bash
# `npm run admin`: the web admin on Node 24, after `npm ci` when node_modules is missing or stale
# (so a fresh clone's first command may be this one). It uses the service's database
# (DATABASE_URL) and starts no services of its own.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/ensure-deps.sh
source scripts/ensure-deps.sh
ensure_deps
exec "$NODE" src/admin/admin-main.ts "$@"
