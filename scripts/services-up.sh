#!/usr/bin/env bash
# Starts the local services the tests and a local run need, idempotently:
#   - PostgreSQL (Debian's package; installed with apt-get when missing), role/db "webhooks"
#   - Apache Kafka (single node, KRaft, broker+controller) from the Maven Central jars,
#     resolved once into .cache/kafka/<version>/libs, data in .data/kafka, pid/log in .run/
# Then prints DATABASE_URL and KAFKA_BROKERS.
#
# Environment: KAFKA_VERSION (default in scripts/lib-services.sh), KAFKA_HEAP_OPTS,
# SERVICES_DEADLINE_SECONDS (default 90), JAVA_HOME (else java on PATH).
set -euo pipefail

# shellcheck source=scripts/lib-services.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-services.sh"

DEADLINE_SECONDS="${SERVICES_DEADLINE_SECONDS:-90}"
APT_UPDATED=0

apt_install() {
  [[ "$(id -u)" -eq 0 ]] || die "need to install '$*' but not root: run 'sudo apt-get install -y $*' and retry"
  command -v apt-get >/dev/null 2>&1 || die "'$*' is missing and apt-get is not available: install it by hand and retry"
  export DEBIAN_FRONTEND=noninteractive
  if [[ "$APT_UPDATED" -eq 0 ]]; then
    say "apt-get update"
    apt-get update -q >"$RUN_DIR/apt.log" 2>&1 ||
      die "apt-get update failed (see $RUN_DIR/apt.log); fix the apt sources/network and retry"
    APT_UPDATED=1
  fi
  say "apt-get install -y $*"
  apt-get install -y -q --no-install-recommends "$@" >>"$RUN_DIR/apt.log" 2>&1 ||
    die "apt-get install -y $* failed (see $RUN_DIR/apt.log); install it by hand and retry"
}

# --------------------------------------------------------------------------- PostgreSQL

postgres_up() {
  local cluster major name port
  if ! cluster="$(pg_cluster)"; then
    if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
      apt_install postgresql
    fi
    if ! cluster="$(pg_cluster)"; then
      # Package present but no cluster (e.g. installed with create_main_cluster = false).
      major="$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -n | tail -n 1)"
      [[ -n "$major" ]] || die "PostgreSQL server binaries not found under /usr/lib/postgresql: apt-get install -y postgresql"
      say "creating PostgreSQL cluster $major/main"
      pg_createcluster "$major" main >/dev/null ||
        die "pg_createcluster $major main failed; create a cluster by hand (pg_createcluster $major main)"
      cluster="$(pg_cluster)" || die "no PostgreSQL cluster after pg_createcluster"
    fi
  fi
  read -r major name <<<"$cluster"
  port="$(pg_lsclusters --no-header | awk -v m="$major" -v n="$name" '$1 == m && $2 == n { print $3 }')"
  [[ "$port" == "$PG_PORT" ]] ||
    die "PostgreSQL cluster $major/$name listens on port $port, expected $PG_PORT: set 'port = $PG_PORT' in /etc/postgresql/$major/$name/postgresql.conf"

  if pg_cluster_online "$major" "$name"; then
    say "PostgreSQL $major/$name already running"
  else
    [[ "$(id -u)" -eq 0 ]] || die "PostgreSQL $major/$name is down and starting it needs root: run 'sudo pg_ctlcluster $major $name start'"
    if port_open "$PG_PORT"; then
      die "port $PG_PORT is taken by something other than cluster $major/$name ($(port_owner "$PG_PORT")): stop it and retry"
    fi
    say "starting PostgreSQL $major/$name"
    pg_ctlcluster "$major" "$name" start ||
      die "pg_ctlcluster $major $name start failed; see /var/log/postgresql/postgresql-$major-$name.log"
    printf '%s %s\n' "$major" "$name" >"$PG_MARKER"
  fi

  # Accepting connections?
  local deadline=$((SECONDS + DEADLINE_SECONDS))
  until pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; do
    ((SECONDS < deadline)) || die "PostgreSQL did not accept connections within ${DEADLINE_SECONDS}s; see /var/log/postgresql/postgresql-$major-$name.log"
    sleep 0.5
  done

  say "ensuring role and database '$PG_DB'"
  # CREATEROLE: migration 0004 creates the cluster-wide group roles webhooks_admin, webhooks_reader
  # and webhooks_service (and the roles test takes one on); it is the database owner's local stand-in.
  pg_super "$PG_PORT" -d postgres <<SQL || die "could not create role/database '$PG_DB' (psql as postgres failed)"
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN CREATEDB CREATEROLE PASSWORD '$PG_PASSWORD';
  ELSE
    ALTER ROLE $PG_USER LOGIN CREATEDB CREATEROLE PASSWORD '$PG_PASSWORD';
  END IF;
END
\$\$;
SELECT 'CREATE DATABASE $PG_DB OWNER $PG_USER'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DB') \gexec
SQL

  local max_conn
  max_conn="$(pg_super "$PG_PORT" -d postgres -At -c 'SHOW max_connections')"
  local clients
  clients="$(pg_super "$PG_PORT" -d postgres -At -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")"
  if ((max_conn < PG_MIN_MAX_CONNECTIONS && clients > 0)); then
    # Someone else uses this server right now: a restart would cut them off.
    warn "max_connections is $max_conn (tests want $PG_MIN_MAX_CONNECTIONS) but $clients other clients are connected, so PostgreSQL is not restarted; run ALTER SYSTEM SET max_connections = $PG_MIN_MAX_CONNECTIONS and restart it when convenient"
  elif ((max_conn < PG_MIN_MAX_CONNECTIONS)); then
    say "max_connections is $max_conn; setting $PG_MIN_MAX_CONNECTIONS and restarting PostgreSQL"
    pg_super "$PG_PORT" -d postgres -c "ALTER SYSTEM SET max_connections = $PG_MIN_MAX_CONNECTIONS" ||
      die "ALTER SYSTEM SET max_connections failed"
    pg_ctlcluster "$major" "$name" restart ||
      die "pg_ctlcluster $major $name restart failed; see /var/log/postgresql/postgresql-$major-$name.log"
    deadline=$((SECONDS + DEADLINE_SECONDS))
    until pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; do
      ((SECONDS < deadline)) || die "PostgreSQL did not come back after the restart; see /var/log/postgresql/postgresql-$major-$name.log"
      sleep 0.5
    done
  fi

  # Password auth over TCP, as the application connects.
  if ! PGCONNECT_TIMEOUT=5 psql -X -q -At "$DATABASE_URL" -c 'select 1' >/dev/null 2>"$RUN_DIR/psql.err"; then
    if grep -qi 'no pg_hba.conf entry' "$RUN_DIR/psql.err"; then
      local hba
      hba="$(pg_super "$PG_PORT" -d postgres -At -c 'SHOW hba_file')"
      say "adding a password (scram-sha-256) entry for $PG_HOST to $hba"
      printf 'host all %s 127.0.0.1/32 scram-sha-256\n' "$PG_USER" >>"$hba"
      pg_super "$PG_PORT" -d postgres -c 'SELECT pg_reload_conf()' >/dev/null
    fi
    PGCONNECT_TIMEOUT=5 psql -X -q -At "$DATABASE_URL" -c 'select 1' >/dev/null ||
      die "cannot connect to $DATABASE_URL with password auth: check pg_hba.conf (host ... scram-sha-256 for 127.0.0.1/32) and listen_addresses"
  fi
  rm -f "$RUN_DIR/psql.err"
  say "PostgreSQL ready"
}

# --------------------------------------------------------------------------- Kafka

java_bin() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    printf '%s' "$JAVA_HOME/bin/java"
  else
    command -v java || true
  fi
}

check_java() {
  JAVA="$(java_bin)"
  [[ -n "$JAVA" ]] || die "java not found: install a JDK/JRE 17+ (apt-get install -y openjdk-17-jre-headless) or set JAVA_HOME"
  local spec major
  spec="$("$JAVA" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ { print $2; exit }')"
  major="${spec#1.}"
  major="${major%%.*}"
  [[ "$major" =~ ^[0-9]+$ ]] || die "cannot tell the version of $JAVA; install a JDK/JRE 17+ or set JAVA_HOME"
  ((major >= 17)) || die "java $spec at $JAVA is too old: Kafka $KAFKA_VERSION needs Java 17+ (apt-get install -y openjdk-17-jre-headless, or set JAVA_HOME)"
}

resolve_kafka_jars() {
  if [[ -f "$KAFKA_LIBS/.complete" ]]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 ||
    die "mvn not found, needed once to fetch the Kafka $KAFKA_VERSION jars: apt-get install -y maven, then retry"
  mkdir -p "$CACHE_DIR"
  say "resolving Kafka $KAFKA_VERSION and its runtime dependencies with Maven (once) ..."
  cat >"$CACHE_DIR/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/services-up.sh: the runtime classpath of a local Kafka broker. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.dialer-webhooks</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <!-- kafka.Kafka (server main) and kafka.tools.StorageTool (storage format) live in core. -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <!-- The CLI tools (topics, consumer groups, broker api versions) as the distribution has them. -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <!-- Logging backend: Kafka logs through slf4j 1.7; the distribution ships log4j2 behind it. -->
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
POM
  rm -rf "$KAFKA_LIBS.tmp"
  local started=$SECONDS
  if ! mvn -B -q -f "$CACHE_DIR/pom.xml" "$MVN_DEPENDENCY_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS.tmp" >"$CACHE_DIR/mvn.log" 2>&1; then
    sed 's/\x1b\[[0-9;]*m//g' "$CACHE_DIR/mvn.log" | grep -m 1 -E '^\[ERROR\] .+' | cut -c1-400 >&2 || true
    die "Maven could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION (full log: $CACHE_DIR/mvn.log); check KAFKA_VERSION and that Maven Central is reachable"
  fi
  # slf4j 2.x would need log4j-slf4j2-impl instead: catch a Kafka that moved to it.
  if compgen -G "$KAFKA_LIBS.tmp/slf4j-api-2.*.jar" >/dev/null; then
    warn "Kafka $KAFKA_VERSION brings slf4j-api 2.x: its log lines need log4j-slf4j2-impl (logging may be silent)"
  fi
  [[ -f "$KAFKA_LIBS.tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] ||
    die "Maven finished but kafka_2.13-$KAFKA_VERSION.jar is not in $KAFKA_LIBS.tmp"
  touch "$KAFKA_LIBS.tmp/.complete"
  rm -rf "$KAFKA_LIBS"
  mv "$KAFKA_LIBS.tmp" "$KAFKA_LIBS"
  say "resolved $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars into ${KAFKA_LIBS#"$SERVICES_ROOT"/} in $((SECONDS - started))s"
}

write_kafka_config() {
  mkdir -p "$KAFKA_DATA" "$KAFKA_LOG_DIRS"
  # Regenerated on every start so it always matches this checkout's paths.
  cat >"$KAFKA_CONFIG" <<PROPS
# Generated by scripts/services-up.sh: a single-node KRaft broker for local runs and tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_LOG_DIRS

# One broker: every internal topic has one replica.
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Fast tests: fewer internal partitions to create on first use, no join delay, short
# session timeouts allowed, quick cleanup of deleted topics' files.
offsets.topic.num.partitions=10
transaction.state.log.num.partitions=10
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
file.delete.delay.ms=1000
auto.create.topics.enable=true
delete.topic.enable=true

# Small footprint on a 2-core machine.
num.network.threads=2
num.io.threads=4
background.threads=4
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=33554432
log.retention.hours=24
log.segment.bytes=104857600
PROPS
  cat >"$KAFKA_LOG4J" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/services-up.sh: everything to stdout, which goes to .run/kafka.log. -->
<Configuration status="warn">
  <Appenders>
    <Console name="stdout" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="stdout"/></Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Logger name="kafka.log.LogCleaner" level="WARN"/>
    <Logger name="org.apache.kafka.storage.internals.log.LogCleaner" level="WARN"/>
  </Loggers>
</Configuration>
XML
}

# The java command line every Kafka class runs with; extra arguments follow.
java_kafka_cmd() {
  local heap
  read -r -a heap <<<"$KAFKA_HEAP_OPTS"
  KAFKA_CMD=("$JAVA" "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$KAFKA_LOG4J" -Dkafka.logs.dir="$RUN_DIR"
    -cp "$KAFKA_LIBS/*")
}

java_kafka() {
  java_kafka_cmd
  "${KAFKA_CMD[@]}" "$@"
}

format_kafka_storage() {
  if [[ -f "$KAFKA_LOG_DIRS/meta.properties" ]]; then
    local formatted
    formatted="$(cat "$KAFKA_DATA/formatted-with" 2>/dev/null || echo unknown)"
    if [[ "$formatted" != "$KAFKA_VERSION" ]]; then
      warn "Kafka data was formatted by Kafka $formatted and is now run by $KAFKA_VERSION; if the broker fails to start, run 'npm run services:down -- --purge' and retry"
    fi
    return 0
  fi
  # What kafka-storage random-uuid prints (base64url of 16 random bytes, not starting with '-'),
  # made here to save a JVM start.
  local cluster_id="-"
  while [[ "$cluster_id" == -* ]]; do
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  done
  say "formatting Kafka storage (cluster id $cluster_id)"
  KAFKA_HEAP_OPTS="-Xmx256m -XX:TieredStopAtLevel=1" java_kafka kafka.tools.StorageTool format \
    -t "$cluster_id" -c "$KAFKA_CONFIG" >"$RUN_DIR/kafka-format.log" 2>&1 || {
    tail -n 15 "$RUN_DIR/kafka-format.log" >&2 || true
    die "formatting Kafka storage failed (see $RUN_DIR/kafka-format.log); 'npm run services:down -- --purge' clears .data/"
  }
  printf '%s\n' "$KAFKA_VERSION" >"$KAFKA_DATA/formatted-with"
}

# The last error lines and the last lines of the broker log, to stderr.
show_kafka_log() {
  {
    echo "---- last ERROR/FATAL lines of $KAFKA_LOG:"
    grep -E '^\[[^]]*\] (ERROR|FATAL) ' "$KAFKA_LOG" | tail -n 5 | cut -c1-400
    echo "---- last lines of $KAFKA_LOG:"
    tail -n 15 "$KAFKA_LOG" | cut -c1-400
    echo "----"
  } >&2 2>/dev/null || true
}

# Waits until a real metadata request succeeds (kafkajs admin, as the application connects).
wait_for_kafka() {
  local pid="$1" deadline=$((SECONDS + DEADLINE_SECONDS)) node="$SERVICES_ROOT/node_modules/.bin/node"
  printf '%s: waiting for Kafka on %s ' "$SCRIPT_NAME" "$KAFKA_BROKERS"
  while ! port_open "$KAFKA_PORT"; do
    if ! pid_alive "$pid"; then
      printf '\n'
      show_kafka_log
      die "Kafka exited during startup; last lines above, full log: $KAFKA_LOG (broken data? 'npm run services:down -- --purge' clears .data/)"
    fi
    if ((SECONDS >= deadline)); then
      printf '\n'
      show_kafka_log
      die "Kafka did not open port $KAFKA_PORT within ${DEADLINE_SECONDS}s; last lines above, full log: $KAFKA_LOG"
    fi
    printf '.'
    sleep 1
  done
  local remaining=$((deadline - SECONDS))
  ((remaining > 5)) || remaining=5
  if [[ -x "$node" && -d "$SERVICES_ROOT/node_modules/kafkajs" ]]; then
    if ! "$node" --disable-warning=TimeoutNegativeWarning "$SERVICES_ROOT/scripts/wait-kafka.ts" "$KAFKA_BROKERS" "$remaining"; then
      printf '\n'
      show_kafka_log
      die "Kafka accepted connections but did not answer metadata requests within ${DEADLINE_SECONDS}s; last lines above, full log: $KAFKA_LOG"
    fi
  else
    # No node_modules yet: ask with Kafka's own tool instead.
    deadline=$((SECONDS + remaining))
    until KAFKA_HEAP_OPTS="-Xmx128m" java_kafka org.apache.kafka.tools.BrokerApiVersionsCommand \
      --bootstrap-server "$KAFKA_BROKERS" >/dev/null 2>&1; do
      if ((SECONDS >= deadline)); then
        printf '\n'
        show_kafka_log
        die "Kafka accepted connections but did not answer ApiVersions within ${DEADLINE_SECONDS}s; full log: $KAFKA_LOG"
      fi
      printf '.'
      sleep 1
    done
    printf ' ready\n'
  fi
}

# True when what listens on $KAFKA_PORT answers Kafka metadata requests (kafkajs, when
# node_modules is there; else the listener's command line must be a Kafka broker).
foreign_kafka_answers() {
  local node="$SERVICES_ROOT/node_modules/.bin/node"
  if [[ -x "$node" && -d "$SERVICES_ROOT/node_modules/kafkajs" ]]; then
    "$node" --disable-warning=TimeoutNegativeWarning "$SERVICES_ROOT/scripts/wait-kafka.ts" "$KAFKA_BROKERS" 10 >/dev/null
  else
    local pid
    pid="$(port_owner "$KAFKA_PORT" | cut -d' ' -f1)"
    [[ -n "$pid" ]] && tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF kafka.Kafka
  fi
}

kafka_up() {
  local pid
  if pid="$(our_kafka_pid)"; then
    say "Kafka already running (pid $pid)"
    check_java
    wait_for_kafka "$pid"
    return 0
  fi
  rm -f "$KAFKA_PID_FILE"

  # A broker this checkout did not start (another checkout's, a system one) already answers on
  # the port: use it as it is. It is never stopped or restarted from here, and services-down
  # leaves it alone too (it stops only the pid in this checkout's .run/kafka.pid).
  if port_open "$KAFKA_PORT" && foreign_kafka_answers; then
    say "a Kafka broker not started by this checkout already answers on $KAFKA_BROKERS; using it"
    return 0
  fi

  check_java
  local port
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_open "$port"; then
      local owner
      owner="$(port_owner "$port")"
      die "port $port is taken by something that is not this checkout's broker (${owner:-unknown process; see 'ss -ltnp'}): stop it (or run 'npm run services:down' in the checkout that started it) and retry"
    fi
  done
  # A broker of ours that lost its pid file (e.g. .run/ deleted) would hold the data dir lock.
  local stray
  stray="$(our_java_pids | tr '\n' ' ')"
  [[ -z "${stray// /}" ]] ||
    die "java processes of this checkout are still running (pids $stray) without a pid file: run 'npm run services:down' and retry"

  resolve_kafka_jars
  write_kafka_config
  format_kafka_storage

  [[ ! -f "$KAFKA_LOG" ]] || mv -f "$KAFKA_LOG" "$KAFKA_LOG.1"
  say "starting Kafka $KAFKA_VERSION (log: ${KAFKA_LOG#"$SERVICES_ROOT"/})"
  # setsid: its own session, so a Ctrl-C in this terminal or the end of npm run does not stop it.
  # The inner shell writes its own pid and then execs java, so the pid file names java itself.
  java_kafka_cmd
  # shellcheck disable=SC2016 # expanded by the inner shell
  nohup setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' kafka-launch "$KAFKA_PID_FILE" \
    "${KAFKA_CMD[@]}" kafka.Kafka "$KAFKA_CONFIG" </dev/null >"$KAFKA_LOG" 2>&1 &
  local _
  for _ in $(seq 1 50); do
    [[ -s "$KAFKA_PID_FILE" ]] && break
    sleep 0.1
  done
  pid="$(tr -dc '0-9' <"$KAFKA_PID_FILE" 2>/dev/null || true)"
  [[ -n "$pid" ]] || die "Kafka did not start (no pid written); see $KAFKA_LOG"
  wait_for_kafka "$pid"
}

main() {
  mkdir -p "$RUN_DIR" "$DATA_DIR"
  local started=$SECONDS
  postgres_up
  kafka_up
  say "services up in $((SECONDS - started))s"
  printf 'DATABASE_URL=%s\n' "$DATABASE_URL"
  printf 'KAFKA_BROKERS=%s\n' "$KAFKA_BROKERS"
}

main "$@"
