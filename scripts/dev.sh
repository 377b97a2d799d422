#!/usr/bin/env bash
# `npm run dev`: everything a fresh clone needs, then the dispatcher in the foreground:
# npm ci when node_modules is missing or stale, the local Postgres and Kafka (idempotent; services
# already running, from this checkout or another, are used as they are), the migrations (at start),
# then the service on Node 24. Ctrl-C stops it gracefully (a second Ctrl-C forces the exit), with
# exit code 0 when the shutdown finished.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/ensure-deps.sh
source scripts/ensure-deps.sh
ensure_deps
bash scripts/services-up.sh
export MIGRATE_ON_START=true
# Local receivers are plain-http servers on loopback, which a real installation refuses
# (REQUIRE_HTTPS, the egress guard): dev allows them explicitly unless told otherwise.
export REQUIRE_HTTPS="${REQUIRE_HTTPS:-false}"
export DELIVERY_ALLOW_NETWORKS="${DELIVERY_ALLOW_NETWORKS:-127.0.0.0/8,::1/128}"

# The service runs as this script's child, not exec'd: a terminal's Ctrl-C sends SIGINT to the
# whole process group and npm forwards one more to its child; exec'd, the service would sometimes
# get both and take the second for "force the exit". So this script ignores SIGINT (the service
# gets the terminal's own), passes SIGTERM on (a supervisor stopping npm), and exits with the
# service's code. package.json runs it with `exec bash` so no sh sits between npm and it (dash
# dies of a SIGINT even when its child exits 0, which npm then reports as killed by SIGINT).
trap '' INT
# The same malloc arena and heap flags as npm start (test/unit/start-flags.test.ts keeps them so).
MALLOC_ARENA_MAX=1 "$NODE" --max-semi-space-size=16 --heap-growing-percent=100 --expose-gc src/main.ts &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM
while :; do
  wait "$child"
  rc=$?
  kill -0 "$child" 2>/dev/null || break
done
exit "$rc"
