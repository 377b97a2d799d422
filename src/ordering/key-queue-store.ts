import type pg from 'pg';
import { pgInt, pgText, pgTimestamp, SHORT_TEXT_CHARS } from '../db/postgres-values.ts';

// The calls into the key-queue functions of migration 0012. Each is one round trip; the functions
// take the queue's advisory lock, so these are safe from any number of dispatchers at once.

/** `active`: send it now (it is its key's head). `parked`: stored, released when the head settles. */
export type QueueState = 'active' | 'parked';

/** A first attempt of a per_key endpoint asking for its turn. */
export interface QueueEntry {
  deliveryId: string;
  endpointId: string;
  source: { topic: string; partition: number; offset: string };
  key: Buffer;
  eventId: string;
  eventType: string;
  eventTimestampMs: number;
  body: Buffer;
}

/** A delivery that became its key's head and is to be handed to the first delay topic. */
export interface ReleasedDelivery {
  deliveryId: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  eventTimestampMs: number;
  body: Buffer;
}

interface ReleasedRow {
  delivery_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  event_timestamp: Date | null;
  body: Buffer | null;
}

export async function enterKeyQueue(pool: pg.Pool, e: QueueEntry): Promise<QueueState> {
  const { rows } = await pool.query<{ state: QueueState }>(
    'select webhooks.enter_key_queue($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) as state',
    [
      e.deliveryId,
      e.endpointId,
      pgText(e.source.topic, SHORT_TEXT_CHARS),
      pgInt(e.source.partition),
      e.source.offset,
      e.key,
      pgText(e.eventId, SHORT_TEXT_CHARS),
      pgText(e.eventType, SHORT_TEXT_CHARS),
      pgTimestamp(e.eventTimestampMs),
      e.body,
    ],
  );
  return rows[0]!.state;
}

/** The head `deliveryId` settled: the next delivery of its key, if any, became the head. */
export async function releaseKeyQueue(pool: pg.Pool, deliveryId: string): Promise<ReleasedDelivery[]> {
  const { rows } = await pool.query<ReleasedRow>('select * from webhooks.release_key_queue($1)', [deliveryId]);
  return rows.map(released);
}

/** The repair (see webhooks.sweep_key_queues): heads released here or whose hand-off is older than `leaseMs`. */
export async function sweepKeyQueues(pool: pg.Pool, leaseMs: number): Promise<ReleasedDelivery[]> {
  const { rows } = await pool.query<ReleasedRow>(
    'select * from webhooks.sweep_key_queues(make_interval(secs => $1::double precision / 1000))',
    [leaseMs],
  );
  return rows.map(released);
}

/** The broker acknowledged the tasks of these released heads. */
export async function markHandedOff(pool: pg.Pool, deliveryIds: readonly string[]): Promise<void> {
  await pool.query(
    `update webhooks.ordered_deliveries set handed_off_at = now() where delivery_id = any($1::uuid[]) and state = 'active'`,
    [deliveryIds],
  );
}

export async function countParked(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from webhooks.ordered_deliveries where state = 'parked'`);
  return rows[0]?.n ?? 0;
}

function released(r: ReleasedRow): ReleasedDelivery {
  return {
    deliveryId: r.delivery_id,
    endpointId: r.endpoint_id,
    eventId: r.event_id,
    eventType: r.event_type,
    eventTimestampMs: r.event_timestamp === null ? 0 : r.event_timestamp.getTime(),
    // A head that entered active has no stored body, but such a head is never released: only
    // parked rows (which always have one) are promoted.
    body: r.body ?? Buffer.alloc(0),
  };
}
