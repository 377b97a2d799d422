import {
  adminVariables,
  bool,
  deepFreeze,
  duration,
  durations,
  int,
  list,
  oneOf,
  read,
  str,
  TOPIC_RE,
  topicOrOff,
  url,
  type Env,
} from './config-values.ts';
import { canonicalAllowNetworks } from './delivery/egress-guard.ts';
import { parseAdminConfig, type AdminConfig } from './config-admin.ts';
import type { AlertsConfig } from './config-alerts.ts';
import { ConfigError } from './errors.ts';
import { TASK_FORMATS, type TaskFormat } from './retry/retry-message.ts';

export { parseDuration } from './config-values.ts';
export { ADMIN_TOKEN_MIN_LENGTH, type AdminConfig } from './config-admin.ts';
export type { AlertsConfig } from './config-alerts.ts';
export * from './config-constants.ts';
import { REPLAY_DEFAULT_RATE, REPLAY_MAX_RATE } from './config-constants.ts';

/**
 * The service's whole configuration, parsed once from the environment. Only this file reads
 * `process.env`; everything else receives a `Config`. Every default lives here and matches what
 * `npm run services:up` starts.
 */
export interface Config {
  kafka: {
    /** KAFKA_BROKERS: comma-separated host:port list. Default `127.0.0.1:9092`. */
    brokers: string[];
    /** KAFKA_CLIENT_ID. Default `dialer-webhooks`. */
    clientId: string;
    /** KAFKA_SSL: use TLS to the brokers. Default false. */
    ssl: boolean;
    /** KAFKA_SASL_MECHANISM (plain, scram-sha-256, scram-sha-512) with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD. */
    sasl: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | null;
    /** INPUT_TOPICS: comma-separated topics the dialer produces to. Default `dialer.events`. */
    inputTopics: string[];
    /** CONSUMER_GROUP: group id of the input consumer; the delay consumer uses `<group>.retry`. Default `dialer-webhooks`. */
    groupId: string;
    /** INPUT_START_FROM: where a new consumer group starts reading the input topics: earliest or latest. Default `earliest` (nothing produced before the first start is lost). */
    inputStartFrom: 'earliest' | 'latest';
    /** TOPIC_PREFIX: prefix of the retry, dead-letter and invalid topics. Default `webhooks`. */
    topicPrefix: string;
    /** TOPIC_PARTITIONS: partitions of topics this service creates. Default 3. */
    topicPartitions: number;
    /** TOPIC_REPLICATION_FACTOR: replication factor of topics this service creates. Default 1. */
    topicReplicationFactor: number;
    /**
     * REBALANCE_DRAIN_MS: before a rejoin, how long in-flight messages may take to settle before
     * they are aborted (and read again by the next owner), ms; keep it under the 30 s session timeout. Default 10000.
     */
    rebalanceDrainMs: number;
  };
  database: {
    /** DATABASE_URL. Default `postgres://webhooks:webhooks@127.0.0.1:5432/webhooks`. */
    url: string;
    /** DATABASE_POOL_SIZE: connections in the pool. Default 10. */
    poolSize: number;
    /** DATABASE_STATEMENT_TIMEOUT_MS: the server ends a statement running longer, and it is retried, ms; 0 for none. Default 30000. */
    statementTimeoutMs: number;
    /** DATABASE_LOCK_TIMEOUT_MS: the server ends a statement waiting longer for a lock, and it is retried, ms; 0 for none. Default 10000. */
    lockTimeoutMs: number;
    /** MIGRATE_ON_START: apply pending migrations when the service starts. Default false. */
    migrateOnStart: boolean;
    /** ADMIN_MIGRATIONS_DIR: a folder of the admins' own numbered SQL files, applied after ours. Default none. */
    adminMigrationsDir: string | null;
    /**
     * Values for the `:'NAME'` variables the admins' files name, from the environment variables of
     * those names, so secrets stay out of the files. Only those: never the whole environment.
     */
    adminVariables: Readonly<Record<string, string>>;
  };
  http: {
    /** HTTP_HOST: address of the metrics and health server. Default `0.0.0.0`. */
    host: string;
    /** HTTP_PORT: port of the metrics and health server; 0 picks a free one. Default 9464. */
    port: number;
  };
  /** LOG_LEVEL: trace, debug, info, warn, error, fatal or silent. Default `info`. */
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  delivery: {
    /** DELIVERY_TIMEOUT_MS: bound on one whole attempt, connect to last byte, ms. Default 10000. */
    timeoutMs: number;
    /** RESPONSE_BODY_READ_BYTES: most bytes of a response body read, bytes. Default 65536. */
    responseReadBytes: number;
    /** RESPONSE_BODY_STORE_BYTES: most bytes of a response body kept in the delivery log. Default 2048. */
    responseStoreBytes: number;
    /**
     * PARTITION_CONCURRENCY: events of one input partition processed at once (memory grows with it).
     * Default 256: a message holds its slot through the claim, the POST and the log write, so the
     * window must cover Postgres round trips as well as ENDPOINT_CONCURRENCY requests.
     */
    partitionConcurrency: number;
    /**
     * MAX_IN_FLIGHT_DELIVERIES: deliveries of input events in flight at once over all partitions
     * (memory is made of them: each holds its event, body, headers and request). Default 1024:
     * above ENDPOINT_CONCURRENCY × the endpoints an event reaches, more only wait for a request
     * slot. An event of more endpoints than this goes alone.
     */
    maxInFlightDeliveries: number;
    /** ENDPOINT_CONCURRENCY: requests in flight to one endpoint at once, reached by slow start (see EndpointLimiter). Default 64. */
    endpointConcurrency: number;
    /** ENDPOINT_STALL_MS: an endpoint whose full request slots free none for this long is stalled; its further attempts fail at once, unsent, and follow the retry schedule, ms. Default 1000. */
    endpointStallMs: number;
    /**
     * THROTTLE_WAIT_MS: longest an attempt waits in memory for its endpoint's rate limit
     * (`max_per_second`) or Retry-After; a longer wait parks it on a delay topic, so its message
     * commits and the endpoints behind it flow on, ms. Default 500.
     */
    throttleWaitMs: number;
    /** RETRY_AFTER_MAX_MS: longest a 429's Retry-After holds its endpoint back, ms. Default 600000 (10 min). */
    retryAfterMaxMs: number;
    /** DELIVERY_CLAIM_LEASE_MS: a first attempt claimed by a dispatcher that recorded nothing for this long is taken over by another copy of the event (its claimer is presumed dead), ms. Default 30000. */
    claimLeaseMs: number;
    /** MAX_EVENT_BYTES: larger input values are invalid, bytes. Default 1048576 (1 MiB). */
    maxEventBytes: number;
    /** REQUIRE_HTTPS: endpoints must use https URLs (the database trigger at write, the deliverer at send). Default true. */
    requireHttps: boolean;
    /** DELIVERY_ALLOW_NETWORKS: comma-separated CIDRs the egress guard lets through although internal, e.g. `10.20.0.0/16`. Default none. */
    allowNetworks: string[];
    /** DELIVERY_PROXY_URL: send every webhook through this HTTP(S) proxy (HTTP CONNECT), e.g. smokescreen. Default none. */
    proxyUrl: string | null;
  };
  retry: {
    /** RETRY_DELAYS: comma-separated delays before attempts 2, 3, 4… (`5s,30s,120s`; units ms, s, m). */
    delaysMs: number[];
    /**
     * RETRY_MESSAGE_FORMAT: how retry messages carry a task on the delay topics, `compact` (one
     * header, cheaper to produce) or `headers` (one header a field, what dispatchers before
     * c0e03c1 read too). Default `compact`: see TaskFormat in src/retry/retry-message.ts.
     */
    messageFormat: TaskFormat;
  };
  /** Failing endpoints: the alert.triggered events about them, and auto-disable (see AlertsConfig). */
  alerts: AlertsConfig;
  endpoints: {
    /** ENDPOINT_RELOAD_INTERVAL_MS: full reload of the endpoint index, a safety net for lost NOTIFYs, ms. Default 60000. */
    reloadIntervalMs: number;
  };
  replay: {
    /** REPLAY_RATE: most deliveries a replay queues per second (webhooks.replay(), and the CLI's default `--rate`). Default 200. */
    ratePerSecond: number;
  };
  log: {
    /** DELIVERY_LOG_BATCH_SIZE: most attempt rows written in one statement. Default 1000. */
    batchSize: number;
    /** DELIVERY_LOG_FLUSH_MS: longest a recorded attempt waits before it is written, ms. Default 20. */
    flushIntervalMs: number;
    /** ATTEMPT_RETENTION_DAYS: monthly partitions of webhooks.attempts wholly older than this are dropped, days. Default 90. */
    retentionDays: number;
    /** LOG_MAINTENANCE_INTERVAL_MS: how often attempt partitions are created ahead and old ones dropped, ms. Default 21600000 (6 h). */
    maintenanceIntervalMs: number;
    /** DELIVERY_RETENTION_DAYS: deliveries (payloads included) in a final state, not created or updated for this long, are deleted, days. Default 30. */
    deliveryRetentionDays: number;
  };
  schemaRegistry: {
    /** SCHEMA_REGISTRY_URL: Confluent-compatible registry for wire-format values. Default none (plain JSON only). */
    url: string | null;
    /** SCHEMA_REGISTRY_USERNAME / SCHEMA_REGISTRY_PASSWORD: optional basic auth. */
    username: string | null;
    password: string | null;
    /** SCHEMA_REGISTRY_TIMEOUT_MS: bound on one registry request, ms. Default 5000. */
    timeoutMs: number;
  };
  metrics: {
    /** METRICS_PER_ENDPOINT: add an endpoint label to delivery metrics (cardinality!). Default false. */
    perEndpoint: boolean;
    /** LAG_POLL_INTERVAL_MS: how often consumer lag is read from the broker, ms. Default 15000. */
    lagPollIntervalMs: number;
  };
  /** SHUTDOWN_TIMEOUT_MS: bound on a graceful shutdown, ms. Default 30000. */
  shutdownTimeoutMs: number;
  /**
   * SHUTDOWN_LOG_FLUSH_MS: the part of SHUTDOWN_TIMEOUT_MS kept for writing the delivery log after
   * in-flight work is drained or aborted, ms. Default 5000, or half of SHUTDOWN_TIMEOUT_MS when that is less than 10 s.
   */
  shutdownLogFlushMs: number;
}

/** Reads and validates the configuration; throws `ConfigError` naming the first bad variable. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const brokers = list(env, 'KAFKA_BROKERS', '127.0.0.1:9092');
  for (const b of brokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(b)) throw new ConfigError('KAFKA_BROKERS', `${JSON.stringify(b)} is not host:port`);
  }
  const inputTopics = list(env, 'INPUT_TOPICS', 'dialer.events');
  for (const t of inputTopics) {
    if (!TOPIC_RE.test(t)) throw new ConfigError('INPUT_TOPICS', `${JSON.stringify(t)} is not a valid Kafka topic name`);
  }
  const topicPrefix = str(env, 'TOPIC_PREFIX', 'webhooks');
  if (!TOPIC_RE.test(topicPrefix))
    throw new ConfigError('TOPIC_PREFIX', `${JSON.stringify(topicPrefix)} is not a valid Kafka topic name prefix`);

  const saslMechanism = read(env, 'KAFKA_SASL_MECHANISM');
  let sasl: Config['kafka']['sasl'] = null;
  if (saslMechanism !== undefined) {
    const mechanism = oneOf(env, 'KAFKA_SASL_MECHANISM', 'plain', ['plain', 'scram-sha-256', 'scram-sha-512'] as const);
    const username = read(env, 'KAFKA_SASL_USERNAME');
    const password = read(env, 'KAFKA_SASL_PASSWORD');
    if (username === undefined) throw new ConfigError('KAFKA_SASL_USERNAME', 'required when KAFKA_SASL_MECHANISM is set');
    if (password === undefined) throw new ConfigError('KAFKA_SASL_PASSWORD', 'required when KAFKA_SASL_MECHANISM is set');
    sasl = { mechanism, username, password };
  }

  const delivery = {
    timeoutMs: int(env, 'DELIVERY_TIMEOUT_MS', 10_000, 100, 600_000),
    responseReadBytes: int(env, 'RESPONSE_BODY_READ_BYTES', 65_536, 0, 16 * 1024 * 1024),
    responseStoreBytes: int(env, 'RESPONSE_BODY_STORE_BYTES', 2048, 0, 1024 * 1024),
    partitionConcurrency: int(env, 'PARTITION_CONCURRENCY', 256, 1, 100_000),
    maxInFlightDeliveries: int(env, 'MAX_IN_FLIGHT_DELIVERIES', 1024, 1, 10_000_000),
    endpointConcurrency: int(env, 'ENDPOINT_CONCURRENCY', 64, 1, 10_000),
    endpointStallMs: int(env, 'ENDPOINT_STALL_MS', 1000, 10, 600_000),
    throttleWaitMs: int(env, 'THROTTLE_WAIT_MS', 500, 0, 60_000),
    retryAfterMaxMs: int(env, 'RETRY_AFTER_MAX_MS', 600_000, 0, 86_400_000),
    claimLeaseMs: int(env, 'DELIVERY_CLAIM_LEASE_MS', 30_000, 100, 86_400_000),
    maxEventBytes: int(env, 'MAX_EVENT_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    requireHttps: bool(env, 'REQUIRE_HTTPS', true),
    allowNetworks: canonicalAllowNetworks(read(env, 'DELIVERY_ALLOW_NETWORKS') ?? '', 'DELIVERY_ALLOW_NETWORKS'),
    proxyUrl: url(env, 'DELIVERY_PROXY_URL', null, ['http:', 'https:']),
  };
  if (delivery.responseStoreBytes > delivery.responseReadBytes) {
    throw new ConfigError('RESPONSE_BODY_STORE_BYTES', `must not exceed RESPONSE_BODY_READ_BYTES (${delivery.responseReadBytes})`);
  }

  const registryUrl = url(env, 'SCHEMA_REGISTRY_URL', null, ['http:', 'https:']);
  const shutdownTimeoutMs = int(env, 'SHUTDOWN_TIMEOUT_MS', 30_000, 1000, 600_000);

  const config: Config = {
    kafka: {
      brokers,
      clientId: str(env, 'KAFKA_CLIENT_ID', 'dialer-webhooks'),
      ssl: bool(env, 'KAFKA_SSL', false),
      sasl,
      inputTopics,
      groupId: str(env, 'CONSUMER_GROUP', 'dialer-webhooks'),
      inputStartFrom: oneOf(env, 'INPUT_START_FROM', 'earliest', ['earliest', 'latest'] as const),
      topicPrefix,
      topicPartitions: int(env, 'TOPIC_PARTITIONS', 3, 1, 10_000),
      topicReplicationFactor: int(env, 'TOPIC_REPLICATION_FACTOR', 1, 1, 32),
      rebalanceDrainMs: int(env, 'REBALANCE_DRAIN_MS', 10_000, 0, 25_000),
    },
    database: {
      url: url(env, 'DATABASE_URL', 'postgres://webhooks:webhooks@127.0.0.1:5432/webhooks', ['postgres:', 'postgresql:'])!,
      poolSize: int(env, 'DATABASE_POOL_SIZE', 10, 2, 1000),
      statementTimeoutMs: int(env, 'DATABASE_STATEMENT_TIMEOUT_MS', 30_000, 0, 86_400_000),
      lockTimeoutMs: int(env, 'DATABASE_LOCK_TIMEOUT_MS', 10_000, 0, 86_400_000),
      migrateOnStart: bool(env, 'MIGRATE_ON_START', false),
      adminMigrationsDir: read(env, 'ADMIN_MIGRATIONS_DIR') ?? null,
      adminVariables: adminVariables(env, read(env, 'ADMIN_MIGRATIONS_DIR')),
    },
    http: {
      host: str(env, 'HTTP_HOST', '0.0.0.0'),
      port: int(env, 'HTTP_PORT', 9464, 0, 65_535),
    },
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const),
    delivery,
    retry: {
      delaysMs: durations(env, 'RETRY_DELAYS', '5s,30s,120s'),
      messageFormat: oneOf(env, 'RETRY_MESSAGE_FORMAT', 'compact', TASK_FORMATS),
    },
    alerts: {
      topic: topicOrOff(env, 'ALERTS_TOPIC', inputTopics[0]!),
      failingAfterMs: duration(env, 'ALERT_FAILING_AFTER', '1h'),
      autoDisableAfterMs: duration(env, 'AUTO_DISABLE_AFTER', '24h'),
      autoDisableMinDead: int(env, 'AUTO_DISABLE_MIN_DEAD', 10, 1, 1_000_000),
      checkIntervalMs: duration(env, 'AUTO_DISABLE_CHECK_INTERVAL', '30s', 100),
    },
    endpoints: { reloadIntervalMs: int(env, 'ENDPOINT_RELOAD_INTERVAL_MS', 60_000, 100, 86_400_000) },
    replay: { ratePerSecond: int(env, 'REPLAY_RATE', REPLAY_DEFAULT_RATE, 1, REPLAY_MAX_RATE) },
    log: {
      batchSize: int(env, 'DELIVERY_LOG_BATCH_SIZE', 1000, 1, 100_000),
      flushIntervalMs: int(env, 'DELIVERY_LOG_FLUSH_MS', 20, 0, 60_000),
      retentionDays: int(env, 'ATTEMPT_RETENTION_DAYS', 90, 1, 36_500),
      maintenanceIntervalMs: int(env, 'LOG_MAINTENANCE_INTERVAL_MS', 6 * 3_600_000, 1000, 7 * 86_400_000),
      deliveryRetentionDays: int(env, 'DELIVERY_RETENTION_DAYS', 30, 1, 36_500),
    },
    schemaRegistry: {
      url: registryUrl,
      username: read(env, 'SCHEMA_REGISTRY_USERNAME') ?? null,
      password: read(env, 'SCHEMA_REGISTRY_PASSWORD') ?? null,
      timeoutMs: int(env, 'SCHEMA_REGISTRY_TIMEOUT_MS', 5000, 100, 600_000),
    },
    metrics: {
      perEndpoint: bool(env, 'METRICS_PER_ENDPOINT', false),
      lagPollIntervalMs: int(env, 'LAG_POLL_INTERVAL_MS', 15_000, 100, 3_600_000),
    },
    shutdownTimeoutMs,
    shutdownLogFlushMs: int(env, 'SHUTDOWN_LOG_FLUSH_MS', Math.min(5000, Math.floor(shutdownTimeoutMs / 2)), 100, 600_000),
  };
  if (config.shutdownLogFlushMs >= config.shutdownTimeoutMs) {
    throw new ConfigError('SHUTDOWN_LOG_FLUSH_MS', `must be less than SHUTDOWN_TIMEOUT_MS (${config.shutdownTimeoutMs})`);
  }
  return deepFreeze(config);
}

/** Reads the web admin's settings (see AdminConfig); throws `ConfigError` naming the first bad variable. */
export function loadAdminConfig(adminEnv: Env = process.env): Readonly<AdminConfig> {
  return parseAdminConfig(adminEnv);
}
