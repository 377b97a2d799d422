# shellcheck shell=bash disable=SC2034 # the settings are used by the scripts that source this
# Shared settings and helpers for scripts/services-up.sh and scripts/services-down.sh.
# Sourced, never executed. Everything lives under the repository: .cache/ (downloaded jars),
# .data/ (Kafka log dirs and its generated config) and .run/ (pid files, logs, markers).

# Kafka version: the newest 4.x on Maven Central when this was written. kafkajs 2.2.4 was checked
# against it (admin create/describe/alter topics and configs, fetchTopicOffsets, fetchOffsets,
# describeGroups, produce acks=-1, idempotent and transactional producers, a consumer group with
# eachBatch + commits, pause/resume, rebalance): all work, because every API kafkajs uses still
# has an overlapping version after KIP-896. Override with KAFKA_VERSION=x.y.z.
KAFKA_DEFAULT_VERSION="4.4.0"
KAFKA_VERSION="${KAFKA_VERSION:-$KAFKA_DEFAULT_VERSION}"
# Versions of the log4j2 backend put beside Kafka so it logs (Kafka's own poms leave the
# logging backend to the distribution). slf4j-api 1.7.x comes with Kafka: use the matching binding.
LOG4J_VERSION="${LOG4J_VERSION:-2.24.3}"
MVN_DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

SERVICES_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="$SERVICES_ROOT/.cache/kafka/$KAFKA_VERSION"
KAFKA_LIBS="$CACHE_DIR/libs"
DATA_DIR="$SERVICES_ROOT/.data"
KAFKA_DATA="$DATA_DIR/kafka"
KAFKA_LOG_DIRS="$KAFKA_DATA/logs"
KAFKA_CONFIG="$KAFKA_DATA/server.properties"
KAFKA_LOG4J="$KAFKA_DATA/log4j2.xml"
RUN_DIR="$SERVICES_ROOT/.run"
KAFKA_PID_FILE="$RUN_DIR/kafka.pid"
KAFKA_LOG="$RUN_DIR/kafka.log"
PG_MARKER="$RUN_DIR/postgres.started-by-us"

KAFKA_HOST="127.0.0.1"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"

PG_HOST="127.0.0.1"
PG_PORT="5432"
PG_USER="webhooks"
PG_PASSWORD="webhooks"
PG_DB="webhooks"
PG_MIN_MAX_CONNECTIONS=200

DATABASE_URL="postgres://$PG_USER:$PG_PASSWORD@$PG_HOST:$PG_PORT/$PG_DB"
KAFKA_BROKERS="$KAFKA_HOST:$KAFKA_PORT"

SCRIPT_NAME="$(basename "${0:-services}" .sh)"

say() { printf '%s: %s\n' "$SCRIPT_NAME" "$*"; }
warn() { printf '%s: WARNING: %s\n' "$SCRIPT_NAME" "$*" >&2; }
die() {
  printf '%s: ERROR: %s\n' "$SCRIPT_NAME" "$*" >&2
  exit 1
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# "pid command" of whatever listens on TCP port $1, or empty when unknown.
port_owner() {
  local port="$1" line pid
  if command -v ss >/dev/null 2>&1; then
    line="$(ss -Hltnp "sport = :$port" 2>/dev/null | head -n 1 || true)"
    pid="$(printf '%s' "$line" | sed -n 's/.*pid=\([0-9][0-9]*\).*/\1/p' | head -n 1)"
    if [[ -n "$pid" ]]; then
      printf '%s %s' "$pid" "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-160)"
    fi
  fi
}

# True when process $1 exists and is not a zombie (an exited child nobody has reaped yet).
pid_alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state="$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || true)"
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# The pid in $KAFKA_PID_FILE when that process is alive and is the broker of this checkout.
our_kafka_pid() {
  local pid
  [[ -f "$KAFKA_PID_FILE" ]] || return 1
  pid="$(tr -dc '0-9' <"$KAFKA_PID_FILE")"
  [[ -n "$pid" ]] || return 1
  pid_alive "$pid" || return 1
  # A recycled pid is not ours: the command line must name our config file.
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$KAFKA_CONFIG" || return 1
  printf '%s' "$pid"
}

# Java processes started from this checkout (kafka.Kafka or StorageTool with our config).
our_java_pids() {
  local p
  for p in /proc/[0-9]*; do
    [[ -r "$p/cmdline" ]] || continue
    if tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -qxF "$KAFKA_CONFIG"; then
      printf '%s\n' "${p#/proc/}"
    fi
  done
}

# Installed PostgreSQL cluster as "major name" (the first one, preferring 'main').
pg_cluster() {
  command -v pg_lsclusters >/dev/null 2>&1 || return 1
  local out
  out="$(pg_lsclusters --no-header 2>/dev/null | awk '$2 == "main" { print $1, $2; exit }')"
  if [[ -z "$out" ]]; then
    out="$(pg_lsclusters --no-header 2>/dev/null | awk 'NR == 1 { print $1, $2 }')"
  fi
  [[ -n "$out" ]] || return 1
  printf '%s' "$out"
}

pg_cluster_online() {
  local major="$1" name="$2"
  pg_lsclusters --no-header 2>/dev/null | awk -v m="$major" -v n="$name" \
    '$1 == m && $2 == n { found = ($4 ~ /^online/) } END { exit found ? 0 : 1 }'
}

# Runs psql as the postgres superuser over the local socket.
pg_super() {
  local port="$1"
  shift
  (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$port" "$@")
}
