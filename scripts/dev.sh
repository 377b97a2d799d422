#!/usr/bin/env bash
# `npm run dev`: everything a fresh clone needs, then the dispatcher in the foreground:
# npm ci when node_modules is missing or stale, the local Postgres and Kafka (idempotent; services
# already running, from this checkout or another, are used as they are), the migrations (at start),
# then the service on Node 24. Ctrl-C stops it gracefully (a second Ctrl-C forces the exit).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/ensure-deps.sh
source scripts/ensure-deps.sh
ensure_deps
bash scripts/services-up.sh
export MIGRATE_ON_START=true
# exec: the service itself gets the terminal's signals and its exit code is this script's.
exec "$NODE" src/main.ts
