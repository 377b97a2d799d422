/**
 * The bench's event source: `call.ended` events of about 1 KiB (the spec's shape plus the fields a
 * real dialer adds), each carrying `data.produced_at` (ms on the machine's monotonic clock, nowMs(),
 * set just before the send) so the receiver can measure produced → received. The envelope's
 * `timestamp` is the wall-clock time, as a producer's would be.
 */
import type { Message, Producer } from 'kafkajs';
import { nowMs } from './stats.ts';

const TARGET_BYTES = 1024;
const DISPOSITIONS = ['SALE', 'NO_ANSWER', 'BUSY', 'CALLBACK', 'DNC'];

function eventData(n: number, producedAt: number, notes: string): Record<string, unknown> {
  return {
    call_id: `call-${n}`,
    agent: `agent${n % 250}`,
    phone_number: String(5550000000 + (n % 10_000_000)),
    duration: n % 900,
    disposition: DISPOSITIONS[n % DISPOSITIONS.length],
    campaign: 'Q1-Sales',
    lead_id: 100_000 + n,
    list_id: 4012,
    queue: 'outbound-main',
    direction: 'outbound',
    started_at: '2026-03-07T15:27:00Z',
    answered_at: '2026-03-07T15:27:08Z',
    hangup_cause: 'NORMAL_CLEARING',
    hangup_by: 'agent',
    recording_url: `https://recordings.example.com/2026/03/07/call-${n}.wav`,
    wrapup_seconds: 12,
    talk_seconds: 168,
    hold_seconds: 0,
    transfer: null,
    custom_fields: { account: `ACC-${n % 50_000}`, tier: 'gold', source: 'web-form', consent: true },
    produced_at: producedAt,
    notes,
  };
}

function envelope(n: number, producedAt: number, notes: string): string {
  return JSON.stringify({ event: 'call.ended', timestamp: new Date().toISOString(), data: eventData(n, producedAt, notes) });
}

// Padding that brings a typical event to TARGET_BYTES.
// (produced_at as a monotonic ms of a machine up for a day: 8 digits and 3 decimals)
const NOTES = 'x'.repeat(Math.max(0, TARGET_BYTES - envelope(123_456, 86_400_000.123, '').length));

/** Size of a typical bench event, bytes. */
export const EVENT_BYTES = Buffer.byteLength(envelope(123_456, 86_400_000.123, NOTES));

/** Event `n` of run `tag`, as a Kafka message. */
export function benchMessage(tag: string, n: number, producedAt = nowMs()): Message {
  return { key: `call-${n}`, value: Buffer.from(envelope(n, producedAt, NOTES)), headers: { 'event-id': `${tag}-${n}` } };
}

/** Event `n` as the webhook body the dispatcher would send (for the raw undici loop). */
export function benchBody(n: number): Buffer {
  return Buffer.from(envelope(n, nowMs(), NOTES));
}

export interface ProduceProgress {
  (produced: number): void;
}

/** Produces `count` events as fast as the broker takes them: batches of `batch`, a few in flight. */
export async function produceBurst(
  producer: Producer,
  topic: string,
  tag: string,
  count: number,
  onProgress?: ProduceProgress,
  from = 0,
): Promise<{ seconds: number }> {
  const started = performance.now();
  const batch = 1000;
  const inFlight = 4;
  let next = 0;
  let produced = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const start = next;
      const size = Math.min(batch, count - start);
      next += size;
      const at = nowMs();
      await producer.send({ topic, acks: -1, messages: Array.from({ length: size }, (_, i) => benchMessage(tag, from + start + i, at)) });
      produced += size;
      onProgress?.(produced);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { seconds: (performance.now() - started) / 1000 };
}

/** Most events in one send of the paced producer (about 250 KiB). */
const PACED_SEND_MAX = 250;

/**
 * Produces at `rate` events/s for `seconds`: every few ms, the events due by now go in one send
 * (not awaited before the next tick, so a slow ack does not skew the pace). Returns the count sent.
 */
export async function producePaced(
  producer: Producer,
  topic: string,
  tag: string,
  rate: number,
  seconds: number,
  onProgress?: ProduceProgress,
): Promise<{ count: number; seconds: number }> {
  const total = Math.round(rate * seconds);
  const started = performance.now();
  let sent = 0;
  let acked = 0;
  const sends = new Set<Promise<void>>();
  let failure: unknown = null;
  while (sent < total) {
    if (failure) throw failure;
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    // At most PACED_SEND_MAX events a send: behind a slow broker (100 sends unacknowledged) or a
    // late timer, the events due pile up, and in one send they made a record batch over the
    // broker's 1 MB message limit (the paced 2,000/s run failed so on a loaded machine).
    while (due > sent && sends.size < 100) {
      const from = sent;
      const n = Math.min(due - sent, PACED_SEND_MAX);
      sent += n;
      const at = nowMs();
      const p: Promise<void> = producer
        .send({ topic, acks: -1, messages: Array.from({ length: n }, (_, i) => benchMessage(tag, from + i, at)) })
        .then(
          () => {
            acked += n;
            onProgress?.(acked);
          },
          (err: unknown) => {
            failure = err;
          },
        )
        .finally(() => sends.delete(p));
      sends.add(p);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(sends);
  if (failure) throw failure;
  return { count: total, seconds: (performance.now() - started) / 1000 };
}
