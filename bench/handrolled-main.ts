/**
 * The hand-rolled baseline: what a team writes in an afternoon instead of this service, run by the
 * bench as a process of its own (like the dispatcher), on the same receiver.
 *
 * A kafkajs consumer with `eachMessage`: parse the event, then for each endpoint (all at once,
 * `Promise.all`) sign it with the same two signatures, `await` an undici POST and `await` a pg
 * INSERT of the attempt into a plain table. Offsets: kafkajs's autocommit defaults (each message is
 * resolved when its handler returns; the resolved offsets are committed after each fetched batch).
 * The partitions are consumed concurrently (`partitionsConsumedConcurrently` = the input topic's
 * partitions), the one tuning knob such a team would find in the kafkajs docs; everything else is
 * a default. No retries, no delivery log, no deduplication, no egress guard, no metrics.
 *
 * Environment: KAFKA_BROKERS, DATABASE_URL, TOPIC, GROUP, PARTITIONS, ENDPOINTS (JSON array of
 * URLs), SECRET. Prints `ready` once it has joined the group; SIGTERM stops it.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { request } from 'undici';
import { signatureHeader, standardSignatureHeader } from '../src/delivery/signing.ts';

const env = process.env;
const endpoints = JSON.parse(env.ENDPOINTS ?? '[]') as string[];
const secret = env.SECRET!;

const db = new pg.Pool({ connectionString: env.DATABASE_URL });
await db.query(`create table if not exists public.bench_attempts (
  id bigserial primary key,
  delivery_id uuid not null,
  url text not null,
  status int,
  duration_ms int not null,
  started_at timestamptz not null
)`);

const kafka = new Kafka({ clientId: 'hand-rolled', brokers: env.KAFKA_BROKERS!.split(','), logLevel: logLevel.ERROR });
const consumer = kafka.consumer({ groupId: env.GROUP! });
consumer.on(consumer.events.GROUP_JOIN, () => process.stdout.write('ready\n'));
await consumer.connect();
await consumer.subscribe({ topics: [env.TOPIC!], fromBeginning: true });

async function deliver(url: string, eventType: string, body: Buffer): Promise<void> {
  const id = randomUUID();
  const startedAt = new Date();
  const ts = Math.floor(startedAt.getTime() / 1000);
  const t0 = performance.now();
  const res = await request(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-webhook-signature': signatureHeader(body, secret),
      'x-webhook-event': eventType,
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': standardSignatureHeader(id, ts, body, [secret]),
    },
    body,
  });
  await res.body.dump();
  await db.query('insert into public.bench_attempts (delivery_id, url, status, duration_ms, started_at) values ($1, $2, $3, $4, $5)', [
    id,
    url,
    res.statusCode,
    Math.round(performance.now() - t0),
    startedAt,
  ]);
}

await consumer.run({
  partitionsConsumedConcurrently: Number(env.PARTITIONS ?? 1),
  eachMessage: async ({ message }) => {
    if (!message.value) return;
    const event = JSON.parse(message.value.toString()) as { event: string };
    await Promise.all(endpoints.map((url) => deliver(url, event.event, message.value!)));
  },
});

const stop = async (): Promise<void> => {
  await consumer.disconnect();
  await db.end();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
