import type pg from 'pg';
import { TransientError } from '../errors.ts';
import type { TopicProducer } from '../kafka/topic-producer.ts';
import { encodeTask, type DeliveryTask } from '../retry/retry-message.ts';

/** A pending redelivery claimed by a sweep (pending → retrying). */
export interface ClaimedRedelivery {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  event_timestamp: Date;
  series: number;
  payload: Buffer;
}

// Claims pending redeliveries (made by webhooks.redeliver() / recover()). SKIP LOCKED lets several
// dispatchers sweep at once: each row goes to exactly one of them, and a row whose claim is still
// open in another transaction is simply left to it. MATERIALIZED keeps the locking subquery from
// being inlined (and evaluated more than once) into the update. Pending redeliveries are open
// (migration 0014): found through the deliveries_open_status index, beside the parked deliveries
// of per_key endpoints, which are pending too but have no stored body.
export const REDELIVERY_CLAIM_SQL = `
with claimed as materialized (
  select id
    from webhooks.deliveries
   where open_status = 'pending' and payload is not null
   order by next_attempt_at nulls first, id
   limit $1
     for update skip locked
)
update webhooks.deliveries d
   set status = 'retrying',
       status_reason = 'redelivery queued',
       next_attempt_at = now(),
       updated_at = now()
  from claimed
 where d.id = claimed.id
returning d.id, d.endpoint_id, d.event_id, d.event_type,
          coalesce(d.event_timestamp, d.created_at) as event_timestamp, d.series, d.payload`;

// kafkajs puts every message for one partition of one request into a single record batch, which
// the broker refuses above message.max.bytes (1 MiB by default): send claimed tasks in requests of
// about this many body bytes, one after the other.
const PRODUCE_CHUNK_BYTES = 256 * 1024;

// The claim stays uncommitted until Kafka has acknowledged every task: a failure (or a crash)
// rolls it back, so the rows are pending again.
export async function claimAndProduce(
  pool: pg.Pool,
  producer: Pick<TopicProducer, 'send'>,
  topic: string,
  batchSize: number,
  now: () => number,
): Promise<ClaimedRedelivery[]> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('begin');
    const { rows } = await client.query<ClaimedRedelivery>(REDELIVERY_CLAIM_SQL, [batchSize]);
    if (rows.length > 0) {
      const nowMs = now();
      await produce(
        producer,
        topic,
        rows.map((row) => toTask(row, nowMs)),
      );
    }
    await client.query('commit');
    return rows;
  } catch (error) {
    broken = error instanceof Error ? error : new TransientError(String(error));
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    // A client whose transaction failed may be in any state: drop it rather than reuse it.
    client.release(broken);
  }
}

async function produce(producer: Pick<TopicProducer, 'send'>, topic: string, tasks: DeliveryTask[]): Promise<void> {
  let chunk: DeliveryTask[] = [];
  let bytes = 0;
  const flush = async (): Promise<void> => {
    const results = await Promise.allSettled(chunk.map((t) => producer.send(topic, encodeTask(t, { redelivery: 'true' }))));
    chunk = [];
    bytes = 0;
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  };
  for (const task of tasks) {
    if (chunk.length > 0 && bytes + task.body.length > PRODUCE_CHUNK_BYTES) await flush();
    chunk.push(task);
    bytes += task.body.length;
  }
  if (chunk.length > 0) await flush();
}

function toTask(row: ClaimedRedelivery, nowMs: number): DeliveryTask {
  return {
    deliveryId: row.id,
    endpointId: row.endpoint_id,
    eventId: row.event_id,
    eventType: row.event_type,
    eventTimestampMs: row.event_timestamp.getTime(),
    series: row.series,
    attempt: 1,
    firstAttemptAtMs: nowMs,
    dueAtMs: nowMs,
    delayMs: 0,
    body: row.payload,
  };
}
