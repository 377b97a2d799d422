import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import pg from 'pg';
import { loadConfig } from '../../src/config.ts';
import { topicNames } from '../../src/topics/service-topics.ts';
import { freePort } from '../support/child-service.ts';
import { waitFor } from '../support/wait-for.ts';
import { Cleanup } from './cleanup.ts';
import { Member } from './members.ts';
import { PrivateKafka, kafkaLibs } from './private-kafka.ts';
import { PrivatePostgres } from './private-postgres.ts';
import { ChaosReceiver, type EndpointKind } from './receivers.ts';
import { claimRunDir, RUN_MARKER, RUN_PREFIX, sweepStaleRuns } from './stale-runs.ts';

export const INPUT_TOPIC = 'chaos.events';
export const INPUT_PARTITIONS = 6;
export const GROUP = 'chaos';
/** Endpoints with `ordering = 'per_key'`. */
export const ORDERED_ENDPOINTS: readonly EndpointKind[] = ['ordered'];
const SHUTDOWN_TIMEOUT_MS = 15_000;
export const STOP_GRACE_MS = SHUTDOWN_TIMEOUT_MS + 5000;
const SECRET = 'whsec_' + Buffer.alloc(32, 7).toString('base64');

/**
 * What a campaign runs on: a private broker and Postgres, five loopback endpoints (one per-key), the dispatcher
 * group and a producer. `close()` stops all of it; it is also registered with a `Cleanup` so an
 * interrupt or a failure stops it too.
 */
export class ChaosStack {
  readonly dir: string;
  readonly kafka: PrivateKafka;
  readonly postgres: PrivatePostgres;
  readonly receivers: ChaosReceiver[];
  readonly members: Member[] = [];
  readonly memberEnv: Record<string, string>;
  readonly pool: pg.Pool;
  readonly producer: Producer;
  readonly #client: Kafka;
  readonly #cleanup: Cleanup;
  #memberCount = 0;

  private constructor(dir: string, kafka: PrivateKafka, postgres: PrivatePostgres, cleanup: Cleanup) {
    this.dir = dir;
    this.kafka = kafka;
    this.postgres = postgres;
    this.#cleanup = cleanup;
    this.receivers = (['healthy', 'flaky', 'slow', 'hang', 'ordered'] as EndpointKind[]).map((k) => new ChaosReceiver(k));
    this.memberEnv = {
      KAFKA_BROKERS: kafka.brokers,
      DATABASE_URL: postgres.url,
      INPUT_TOPICS: INPUT_TOPIC,
      TOPIC_PREFIX: 'chaos.wh',
      CONSUMER_GROUP: GROUP,
      TOPIC_PARTITIONS: '3',
      LOG_LEVEL: 'warn',
      // Short retries so the hanging endpoint's deliveries are dead within a round.
      RETRY_DELAYS: '1s,2s,4s,8s',
      DELIVERY_TIMEOUT_MS: '1500',
      // The endpoints are plain http on loopback.
      REQUIRE_HTTPS: 'false',
      DELIVERY_ALLOW_NETWORKS: '127.0.0.0/8',
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      PARTITION_CONCURRENCY: '16',
      DATABASE_POOL_SIZE: '5',
      LAG_POLL_INTERVAL_MS: '5000',
      ENDPOINT_RELOAD_INTERVAL_MS: '10000',
      [RUN_MARKER]: dir,
    };
    this.pool = new pg.Pool({ connectionString: postgres.url, max: 2, connectionTimeoutMillis: 3000 });
    this.pool.on('error', () => {}); // idle connections die with each Postgres stop
    this.#client = new Kafka({
      clientId: 'chaos-harness',
      brokers: [kafka.brokers],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 2000,
      requestTimeout: 5000,
      retry: { retries: 3, initialRetryTime: 300 },
    });
    this.producer = this.#client.producer({ allowAutoTopicCreation: false });
  }

  static async open(log: (line: string) => void): Promise<ChaosStack> {
    const libs = kafkaLibs();
    await sweepStaleRuns(log);
    const dir = await mkdtemp(path.join(os.tmpdir(), RUN_PREFIX));
    await chmod(dir, 0o755); // the postgres OS user must reach its data dir inside
    await claimRunDir(dir);
    const cleanup = new Cleanup();
    const kafka = new PrivateKafka({
      dir: path.join(dir, 'kafka'),
      port: await freePort(),
      controllerPort: await freePort(),
      libs,
      env: { [RUN_MARKER]: dir },
    });
    const postgres = new PrivatePostgres({ dir: path.join(dir, 'postgres'), port: await freePort() });
    const stack = new ChaosStack(dir, kafka, postgres, cleanup);
    cleanup.add(
      'private services',
      () => stack.#teardown(),
      () => {
        for (const m of stack.members) m.stopSync();
        kafka.stopSync();
        postgres.stopSync();
      },
    );
    try {
      log(`chaos: private services in ${dir}`);
      await Promise.all([kafka.start(), postgres.start()]);
      log(`chaos: Kafka on ${kafka.brokers}, Postgres on ${postgres.url.replace(/:[^:@/]*@/, ':***@')}`);
      // The members run with REQUIRE_HTTPS=false and loopback allowed and write that to
      // webhooks.settings at start; the endpoints go in before, so say it here too.
      await stack.pool.query(
        `update webhooks.settings set value = case key when 'require_https' then 'false' else $1 end
          where key in ('require_https', 'delivery_allow_networks')`,
        [stack.memberEnv.DELIVERY_ALLOW_NETWORKS],
      );
      for (const r of stack.receivers) {
        await r.listen();
        await stack.pool.query(
          `insert into webhooks.endpoints (name, url, secret, event_types, ordering) values ($1, $2, $3, '{call.ended}', $4)`,
          [r.kind, r.url, SECRET, ORDERED_ENDPOINTS.includes(r.kind) ? 'per_key' : 'none'],
        );
      }
      const admin = await stack.admin();
      try {
        await admin.createTopics({
          topics: [{ topic: INPUT_TOPIC, numPartitions: INPUT_PARTITIONS, replicationFactor: 1 }],
          waitForLeaders: true,
        });
      } finally {
        await admin.disconnect();
      }
      await stack.producer.connect();
      for (let i = 0; i < 3; i++) await stack.addMember();
      await stack.allReady(180_000);
    } catch (err) {
      await stack.close(false);
      throw err;
    }
    return stack;
  }

  /** A fresh admin: after a broker restart an old one can keep failing. */
  async admin(): Promise<Admin> {
    const admin = this.#client.admin();
    await admin.connect();
    return admin;
  }

  /**
   * Members alternate the retry message format (odd-numbered ones `headers`, even-numbered ones,
   * m2 and any later replacement m4, m6…, `compact`), as a fleet does while a rollout switches
   * it: each reads the others' retries.
   */
  async addMember(): Promise<Member> {
    const n = ++this.#memberCount;
    const env = { ...this.memberEnv, RETRY_MESSAGE_FORMAT: n % 2 === 0 ? 'compact' : 'headers' };
    const m = new Member(`m${n}`, env, this.dir);
    this.members.push(m);
    await m.start();
    return m;
  }

  async removeMember(m: Member): Promise<void> {
    await m.stop('SIGTERM', STOP_GRACE_MS);
    m.closeLog();
    this.members.splice(this.members.indexOf(m), 1);
  }

  async allReady(timeoutMs: number): Promise<void> {
    await waitFor(async () => (await Promise.all(this.members.map((m) => m.ready()))).every(Boolean), {
      timeoutMs,
      intervalMs: 500,
      what: 'every member ready',
    });
  }

  /** Unconsumed messages of the input group and of the retry group. */
  async lag(): Promise<number> {
    const names = topicNames(loadConfig(this.memberEnv));
    const admin = await this.admin();
    try {
      let lag = 0;
      for (const [groupId, topics] of [
        [GROUP, names.input],
        [`${GROUP}.retry`, names.retryDistinct],
      ] as const) {
        for (const topic of topics) {
          const high = await admin.fetchTopicOffsets(topic);
          const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
          for (const p of high) {
            const c = Number(committed?.partitions.find((x) => x.partition === p.partition)?.offset ?? -1);
            lag += Math.max(0, Number(p.high) - (c < 0 ? Number(p.low) : c));
          }
        }
      }
      return lag;
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  async #teardown(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop('SIGTERM', STOP_GRACE_MS).catch(() => m.stopSync())));
    for (const m of this.members) m.closeLog();
    await this.producer.disconnect().catch(() => {});
    await this.pool.end().catch(() => {});
    for (const r of this.receivers) await r.close();
    await this.kafka.stop();
    await this.postgres.stop();
  }

  /** Stops everything; removes the temp dir unless `keepDir` (logs for a failed campaign). */
  async close(keepDir: boolean): Promise<void> {
    await this.#cleanup.runAll();
    if (!keepDir) await rm(this.dir, { recursive: true, force: true });
    // Kept for a person to read: without its owner file, later campaigns leave it alone.
    else await rm(path.join(this.dir, 'owner.pid'), { force: true });
  }
}
