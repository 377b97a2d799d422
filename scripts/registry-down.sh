#!/usr/bin/env bash
# Stops the schema registry started by scripts/registry-up.sh. Idempotent: nothing running is fine.
# Storage is in memory, so its schemas go with it.
#
# Environment (optional):
#   REGISTRY_STOP_TIMEOUT  seconds to wait after SIGTERM before SIGKILL (default 20)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PID_FILE="$ROOT/.run/registry.pid"
TIMEOUT="${REGISTRY_STOP_TIMEOUT:-20}"

die() { echo "registry-down: $*" >&2; exit 1; }

if [[ ! -f "$PID_FILE" ]]; then
  echo "registry-down: not running (no $PID_FILE)"
  exit 0
fi
pid="$(cat "$PID_FILE")"
[[ "$pid" =~ ^[0-9]+$ ]] || { rm -f "$PID_FILE" "$ROOT/.run/registry.url"; die "$PID_FILE held no pid; removed it, rerun scripts/registry-up.sh if needed"; }

# Only signal the process if it is still the registry this checkout started (pids get reused;
# another checkout's registry, or a shared one, is never stopped from here).
if ! { [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$ROOT/.cache/registry/"; }; then
  echo "registry-down: not running (pid $pid is gone or is not the registry)"
  rm -f "$PID_FILE" "$ROOT/.run/registry.url"
  exit 0
fi

# SIGTERM lets the JVM exit cleanly, which also writes its class-data-sharing archive.
kill -TERM "$pid"
start=$SECONDS
while kill -0 "$pid" 2>/dev/null; do
  if ((SECONDS - start >= TIMEOUT)); then
    echo "registry-down: pid $pid still running after ${TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    break
  fi
  sleep 0.2
done
rm -f "$PID_FILE" "$ROOT/.run/registry.url"
echo "registry-down: stopped (pid $pid)"
