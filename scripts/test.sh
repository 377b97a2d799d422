#!/usr/bin/env bash
# `npm test`: npm ci when node_modules is missing or stale, then scripts/test.ts on Node 24, which
# finds or starts the services (Kafka, Postgres, schema registry) and runs the tests. Each test
# file migrates its own database (cloned from a migrated template). Arguments go to the runner.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/ensure-deps.sh
source scripts/ensure-deps.sh
ensure_deps
exec "$NODE" scripts/test.ts "$@"
