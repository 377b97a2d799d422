#!/usr/bin/env bash
# Starts a real Confluent-compatible schema registry on this machine, without Docker:
# Apicurio Registry (the Quarkus distribution published on Maven Central as
# io.apicurio:apicurio-registry-app:<version>:tar.gz:all), in-memory storage (H2), serving the
# Confluent API at /apis/ccompat/v7. Idempotent: a registry already running is left alone.
#
# Environment (all optional):
#   REGISTRY_HOST             listen address                       (default 127.0.0.1)
#   REGISTRY_PORT             Confluent-compatible API port        (default 8081)
#   REGISTRY_MANAGEMENT_PORT  Quarkus management port (/q/health)  (default 8091)
#   REGISTRY_START_TIMEOUT    seconds to wait until it answers     (default 120)
#   REGISTRY_JAVA             java binary to use; needs Java 21+   (default: the newest 21+ found)
#   APICURIO_VERSION          Apicurio Registry version            (default 3.3.3)
#
# Layout (all gitignored): .cache/registry/ holds the download, the unpacked app and the JVM's
# class-data-sharing archive (makes warm starts ~2x faster); .data/registry/ the log; .run/ the pid.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOST="${REGISTRY_HOST:-127.0.0.1}"
PORT="${REGISTRY_PORT:-8081}"
MGMT_PORT="${REGISTRY_MANAGEMENT_PORT:-8091}"
TIMEOUT="${REGISTRY_START_TIMEOUT:-120}"
VERSION="${APICURIO_VERSION:-3.3.3}"

CACHE_DIR="$ROOT/.cache/registry"
APP_DIR="$CACHE_DIR/apicurio-registry-app-$VERSION"
TARBALL="$CACHE_DIR/apicurio-registry-app-$VERSION-all.tar.gz"
CDS_ARCHIVE="$CACHE_DIR/apicurio-registry-app-$VERSION.jsa"
DATA_DIR="$ROOT/.data/registry"
LOG_FILE="$DATA_DIR/registry.log"
RUN_DIR="$ROOT/.run"
PID_FILE="$RUN_DIR/registry.pid"
URL_FILE="$RUN_DIR/registry.url"
URL="http://$HOST:$PORT/apis/ccompat/v7"

die() { echo "registry-up: $*" >&2; exit 1; }
answers() { curl -fsS -o /dev/null --max-time 2 "$URL/subjects" 2>/dev/null; }
is_our_registry() { # pid
  [[ -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "$APP_DIR/quarkus-run.jar"
}

command -v curl >/dev/null || die "curl not found; install it (apt-get install -y curl) and rerun"

# One registry-up at a time (two at once would race for the port). The java child must not
# inherit the lock's descriptor, or the lock would live as long as the registry.
mkdir -p "$RUN_DIR"
exec 9>"$RUN_DIR/registry.lock"
flock -w "$TIMEOUT" 9 || die "another registry-up.sh is still running; wait for it or remove $RUN_DIR/registry.lock"

# Already running (ours, or something else answering the Confluent API on that port)?
if [[ -f "$PID_FILE" ]] && is_our_registry "$(cat "$PID_FILE")"; then
  running_url="$(cat "$URL_FILE" 2>/dev/null || true)"
  if [[ "$running_url" != "$URL" ]]; then
    die "a registry started by this script already runs at ${running_url:-an unknown address} (pid $(cat "$PID_FILE")); run scripts/registry-down.sh first"
  fi
  if answers; then
    echo "registry-up: already running (pid $(cat "$PID_FILE"))"
    echo "SCHEMA_REGISTRY_URL=$URL"
    exit 0
  fi
  # Ours but not answering yet (started moments ago): fall through to the wait below.
  STARTED_PID="$(cat "$PID_FILE")"
elif answers; then
  echo "registry-up: a registry not started by this script already answers on $HOST:$PORT; using it"
  echo "SCHEMA_REGISTRY_URL=$URL"
  exit 0
fi

if [[ -z "${STARTED_PID:-}" ]]; then
  # Port taken by something that is not a registry?
  if (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; then
    die "port $HOST:$PORT is in use by another program; stop it or set REGISTRY_PORT"
  fi

  # Java 21+ (Apicurio 3 is compiled for 21). Prefer REGISTRY_JAVA, then JAVA_HOME, PATH, /usr/lib/jvm.
  java_major() { "$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}'; }
  java_ok() { local major; major="$(java_major "$1")"; [[ "${major%%.*}" =~ ^[0-9]+$ ]] && ((${major%%.*} >= 21)); }
  JAVA=""
  if [[ -n "${REGISTRY_JAVA:-}" ]]; then
    [[ -x "$REGISTRY_JAVA" ]] && java_ok "$REGISTRY_JAVA" ||
      die "REGISTRY_JAVA=$REGISTRY_JAVA is not a Java 21+ binary; point it at one or unset it"
    JAVA="$REGISTRY_JAVA"
  else
    for candidate in "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)" \
      $(ls -d /usr/lib/jvm/*/bin/java 2>/dev/null | sort -rV); do
      if [[ -n "$candidate" && -x "$candidate" ]] && java_ok "$candidate"; then JAVA="$candidate"; break; fi
    done
    [[ -n "$JAVA" ]] || die "no Java 21 or newer found; install a JDK 21+ and set REGISTRY_JAVA=/path/to/bin/java"
  fi

  # Download (Maven verifies the checksum) and unpack once; unpack into a temp dir and rename so an
  # interrupted run never leaves a half-unpacked app behind.
  if [[ ! -f "$APP_DIR/quarkus-run.jar" ]]; then
    mkdir -p "$CACHE_DIR"
    if [[ ! -f "$TARBALL" ]]; then
      command -v mvn >/dev/null || die "mvn not found; install Maven (apt-get install -y maven) and rerun"
      echo "registry-up: downloading Apicurio Registry $VERSION (~160 MB, once)..."
      mvn -B -q -C org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
        "-Dartifact=io.apicurio:apicurio-registry-app:$VERSION:tar.gz:all" \
        "-DoutputDirectory=$CACHE_DIR" >"$CACHE_DIR/download.log" 2>&1 ||
        die "download failed (see $CACHE_DIR/download.log); check that Maven reaches its central repository and rerun"
    fi
    echo "registry-up: unpacking..."
    tmp="$(mktemp -d "$CACHE_DIR/unpack.XXXXXX")"
    tar -xzf "$TARBALL" -C "$tmp" || { rm -rf "$tmp"; die "cannot unpack $TARBALL; delete it and rerun"; }
    rm -rf "$APP_DIR"
    mv "$tmp" "$APP_DIR"
  fi

  mkdir -p "$DATA_DIR" "$RUN_DIR"
  # C1 only, serial GC, a capped heap and an auto-created CDS archive: this is a small dev/test
  # registry on a 2-core machine, so start-up time matters more than peak throughput.
  (
    cd "$DATA_DIR"
    exec setsid "$JAVA" \
      -XX:+AutoCreateSharedArchive "-XX:SharedArchiveFile=$CDS_ARCHIVE" \
      -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xms64m -Xmx512m \
      "-Dquarkus.http.host=$HOST" "-Dquarkus.http.port=$PORT" \
      "-Dquarkus.management.host=$HOST" "-Dquarkus.management.port=$MGMT_PORT" \
      -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=h2 \
      -jar "$APP_DIR/quarkus-run.jar"
  ) >"$LOG_FILE" 2>&1 </dev/null 9>&- &
  STARTED_PID=$!
  echo "$STARTED_PID" >"$PID_FILE"
  echo "$URL" >"$URL_FILE"
  echo "registry-up: started Apicurio Registry $VERSION with $JAVA (pid $STARTED_PID, log $LOG_FILE)"
fi

# Wait until the Confluent API answers, showing progress; fail early if the process dies.
start=$SECONDS
next_report=0
until answers; do
  if ! kill -0 "$STARTED_PID" 2>/dev/null; then
    rm -f "$PID_FILE" "$URL_FILE"
    tail -n 20 "$LOG_FILE" >&2 || true
    die "the registry exited during start-up (log above, full log $LOG_FILE); fix the cause and rerun"
  fi
  elapsed=$((SECONDS - start))
  if ((elapsed >= TIMEOUT)); then
    die "no answer from $URL after ${TIMEOUT}s (log $LOG_FILE); run scripts/registry-down.sh, raise REGISTRY_START_TIMEOUT or check the log"
  fi
  if ((elapsed >= next_report)); then
    echo "registry-up: waiting for $URL (${elapsed}s of ${TIMEOUT}s)"
    next_report=$((elapsed + 5))
  fi
  sleep 0.2
done
echo "registry-up: ready after $((SECONDS - start))s"
echo "SCHEMA_REGISTRY_URL=$URL"
