#!/usr/bin/env bash
# Stops what scripts/services-up.sh started: this checkout's Kafka broker (SIGTERM, then
# SIGKILL after a deadline) and the PostgreSQL cluster only if services-up started it.
#
# Usage: scripts/services-down.sh [--purge]   (--purge also deletes .data/)
# Environment: SERVICES_STOP_SECONDS (default 30) before SIGKILL.
set -euo pipefail

# shellcheck source=scripts/lib-services.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-services.sh"

PURGE=0
for arg in "$@"; do
  case "$arg" in
    --purge) PURGE=1 ;;
    -h | --help)
      sed -n '2,7p' "$0"
      exit 0
      ;;
    *) die "unknown argument '$arg' (only --purge is accepted)" ;;
  esac
done
STOP_SECONDS="${SERVICES_STOP_SECONDS:-30}"

alive_among() {
  local p out=""
  for p in "$@"; do
    if pid_alive "$p"; then out+="$p "; fi
  done
  printf '%s' "${out% }"
}

# Sends SIGTERM, waits up to STOP_SECONDS, then SIGKILL; fails if any survives.
stop_pids() {
  local what="$1"
  shift
  local pids=("$@") deadline left
  [[ ${#pids[@]} -gt 0 ]] || return 0
  say "stopping $what (pid ${pids[*]})"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  deadline=$((SECONDS + STOP_SECONDS))
  while left="$(alive_among "${pids[@]}")" && [[ -n "$left" ]]; do
    if ((SECONDS >= deadline)); then
      warn "$what still running after ${STOP_SECONDS}s; sending SIGKILL to $left"
      # shellcheck disable=SC2086 # a list of pids
      kill -KILL $left 2>/dev/null || true
      sleep 1
      left="$(alive_among "${pids[@]}")"
      [[ -z "$left" ]] || die "$what (pid $left) survived SIGKILL; stop it by hand"
      break
    fi
    sleep 0.5
  done
}

kafka_down() {
  local pid pids=()
  if pid="$(our_kafka_pid)"; then
    pids+=("$pid")
  elif [[ -f "$KAFKA_PID_FILE" ]]; then
    say "Kafka pid file is stale; no broker of ours at that pid"
  fi
  # Also any java process of this checkout without a pid file (e.g. an interrupted format).
  local p
  while read -r p; do
    if [[ -n "$p" && " ${pids[*]} " != *" $p "* ]]; then pids+=("$p"); fi
  done < <(our_java_pids)
  if [[ ${#pids[@]} -eq 0 ]]; then
    say "Kafka not running"
  else
    stop_pids "Kafka" "${pids[@]}"
  fi
  rm -f "$KAFKA_PID_FILE"
  local remaining
  remaining="$(our_java_pids | tr '\n' ' ')"
  [[ -z "${remaining// /}" ]] || die "java processes of this checkout remain (pids $remaining); stop them by hand"
  say "Kafka stopped"
}

postgres_down() {
  if [[ ! -f "$PG_MARKER" ]]; then
    say "PostgreSQL left as it was (services-up did not start it)"
    return 0
  fi
  local major name
  read -r major name <"$PG_MARKER" || true
  if [[ -z "${major:-}" || -z "${name:-}" ]]; then
    warn "unreadable $PG_MARKER; leaving PostgreSQL as it is"
  elif pg_cluster_online "$major" "$name"; then
    say "stopping PostgreSQL $major/$name (services-up started it)"
    pg_ctlcluster "$major" "$name" stop ||
      die "pg_ctlcluster $major $name stop failed; see /var/log/postgresql/postgresql-$major-$name.log"
  else
    say "PostgreSQL $major/$name already stopped"
  fi
  rm -f "$PG_MARKER"
}

# The schema registry that `npm test` starts (scripts/registry-up.sh) goes down with the rest.
if [[ -f "$RUN_DIR/registry.pid" ]]; then
  bash "$(dirname "${BASH_SOURCE[0]}")/registry-down.sh" || warn "stopping the schema registry failed; see scripts/registry-down.sh"
fi
kafka_down
postgres_down
if [[ "$PURGE" -eq 1 ]]; then
  say "purging ${DATA_DIR#"$SERVICES_ROOT"/}/"
  rm -rf "$DATA_DIR"
fi
say "services down"
