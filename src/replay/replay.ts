import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import type { Logger } from 'pino';
import { withBackoff } from '../delivery/with-backoff.ts';
import { findStoredDeliveries } from './stored-deliveries.ts';
import { bodyDigest, deliveryId } from '../delivery/delivery-id.ts';
import { subscribesTo, type Endpoint } from '../endpoints/endpoint.ts';
import { compileFilter } from '../endpoints/payload-filter.ts';
import { InvalidEventError } from '../errors.ts';
import type { Envelope } from '../events/envelope.ts';
import type { EventDecoder } from '../events/event-decoder.ts';
import { producerEventId } from '../events/event-id.ts';
import type { ConsumedMessage } from '../kafka/partition-consumer.ts';
import { rangesSince, readRanges } from '../kafka/range-reader.ts';
import type { TopicProducer } from '../kafka/topic-producer.ts';
import { readTraceContext } from '../tracing/trace-context.ts';
import { encodeTask, type DeliveryTask } from '../retry/retry-message.ts';
import { sleep } from '../util/backoff.ts';
import { Pacer, pace, totalOffsets, type PartitionRange } from './replay-plan.ts';

export interface ReplayOptions {
  kafka: Kafka;
  pool: pg.Pool;
  /** Produces the delivery tasks (not used by a dry run). */
  producer: Pick<TopicProducer, 'send'>;
  /** The service's own decoder (plain JSON or schema-registry wire format). */
  decodeEvent: EventDecoder;
  inputTopics: readonly string[];
  /** The first delay topic: the running service's retry consumer attempts what is due on it. */
  firstRetryTopic: string;
  /** The endpoint as it is now: its current subscription and payload filter decide what is replayed. */
  endpoint: Endpoint;
  since: Date;
  /** Null: up to the high watermarks taken at the start. */
  until: Date | null;
  /** Only these event types (within the subscription); null for all the endpoint takes. */
  types: readonly string[] | null;
  /** Count only: nothing is produced. */
  dryRun: boolean;
  /** Most deliveries queued per second. */
  ratePerSecond: number;
  /** The consumer group of this replay alone. */
  groupId: string;
  logger: Logger;
  signal?: AbortSignal;
  /** Progress at most this often (and once at the end), ms. Default 1000. */
  progressIntervalMs?: number;
  onProgress?: (progress: ReplayProgress) => void;
  /** Called once per partition whose events since `since` are partly gone (retention). */
  onRetentionGap?: (gap: RetentionGap) => void;
  now?: () => number;
}

/** Events since `since` were deleted from this partition before the replay could read them. */
export interface RetentionGap {
  topic: string;
  partition: number;
  /** The partition's oldest event still kept. */
  earliestAvailable: Date;
}

export interface ReplayCounts {
  /** Messages read in the time range. */
  scanned: number;
  /** Of those, events the endpoint takes (subscription, `types` and its payload filter). */
  matched: number;
  /** Events of the subscription (and `types`) that the endpoint's payload filter excluded. */
  filtered: number;
  /** Deliveries queued (or, in a dry run, that would be): never attempted, or dead or cancelled. */
  delivered: number;
  /** Of `delivered`, deliveries that existed as dead or cancelled and get a new attempt series. */
  resent: number;
  /** Matching events already delivered successfully to the endpoint: skipped. */
  alreadySucceeded: number;
  /** Matching events whose delivery is pending or retrying right now: left to it. */
  inFlight: number;
  /** Messages that are no valid events (the service sent them to the invalid topic). */
  invalid: number;
}

/** Counts before a replay has read anything. */
export const ZERO_COUNTS: Readonly<ReplayCounts> = Object.freeze({
  scanned: 0,
  matched: 0,
  filtered: 0,
  delivered: 0,
  resent: 0,
  alreadySucceeded: 0,
  inFlight: 0,
  invalid: 0,
});

export interface ReplayProgress extends ReplayCounts {
  offsetsDone: number;
  totalOffsets: number;
  elapsedMs: number;
  offsetsPerSecond: number;
  /** Time left at the pace so far; null before there is one. */
  etaMs: number | null;
}

export interface ReplaySummary extends ReplayProgress {
  dryRun: boolean;
  ranges: PartitionRange[];
  retentionGaps: RetentionGap[];
}

interface Candidate {
  message: ConsumedMessage;
  envelope: Envelope;
  eventId: string;
  id: string;
  collisionId: string;
  digest: Buffer;
}

/**
 * Replays the input topics from `since` to one endpoint. Reads with a consumer of its own from
 * the brokers' time index, decodes each event with the service's decoder, keeps what the
 * endpoint's current subscription (and `types`) takes, and queues a delivery task on the first
 * delay topic for each event whose delivery has not succeeded, exactly as webhooks.redeliver()
 * does: the running service attempts it with fresh signatures, and records it under the same
 * delivery id as the live path would (uuid v5 of the event id and the endpoint id), so a second
 * replay finds it succeeded and sends nothing.
 */
export async function replay(options: ReplayOptions): Promise<ReplaySummary> {
  const { logger, endpoint } = options;
  const now = options.now ?? Date.now;
  const signal = options.signal ?? new AbortController().signal;
  const started = now();
  const admin = options.kafka.admin();
  await admin.connect();
  let ranges: PartitionRange[];
  try {
    ranges = await rangesSince(admin, options.inputTopics, options.since, options.until);
  } finally {
    await admin.disconnect();
  }

  const counts: ReplayCounts = { ...ZERO_COUNTS };
  const total = totalOffsets(ranges);
  const position = new Map<string, number>();
  const retentionGaps: RetentionGap[] = [];
  const pacer = new Pacer(options.ratePerSecond);
  const intervalMs = options.progressIntervalMs ?? 1000;
  let lastProgressAt = started;

  const progress = (): ReplayProgress => {
    let offsetsDone = 0;
    for (const r of ranges) offsetsDone += (position.get(`${r.topic}/${r.partition}`) ?? r.start) - r.start;
    const figures = { scanned: counts.scanned, deliveries: counts.delivered, offsetsDone, totalOffsets: total, elapsedMs: now() - started };
    return { ...counts, offsetsDone, totalOffsets: total, elapsedMs: figures.elapsedMs, ...pace(figures) };
  };
  const maybeReport = (): void => {
    if (!options.onProgress || now() - lastProgressAt < intervalMs) return;
    lastProgressAt = now();
    options.onProgress(progress());
  };

  const wanted = (type: string): boolean => subscribesTo(endpoint, type) && (options.types === null || options.types.includes(type));
  // The live path's filter (src/endpoints/endpoint-index.ts): a stored filter always compiles.
  const accepts = endpoint.filter === undefined || endpoint.filter === null ? null : compileFilter(endpoint.filter);

  const onMessages = async (messages: ConsumedMessage[], batchSignal: AbortSignal, heartbeat: () => Promise<void>): Promise<void> => {
    const candidates: Candidate[] = [];
    for (const message of messages) {
      counts.scanned += 1;
      noteRetention(message);
      let envelope: Envelope;
      try {
        envelope = await withBackoff(() => options.decodeEvent(message.value), { signal: batchSignal, logger, what: 'decoding an event' });
      } catch (err) {
        if (err instanceof InvalidEventError) {
          counts.invalid += 1;
          continue;
        }
        throw err;
      }
      if (!wanted(envelope.event)) continue;
      if (accepts && !accepts(envelope)) {
        counts.filtered += 1;
        continue;
      }
      counts.matched += 1;
      // The live path's event id and delivery ids (src/delivery/dispatcher.ts), so both agree.
      const eventId = producerEventId(message.headers) ?? `${message.topic}/${message.partition}/${message.offset}`;
      const digest = bodyDigest(envelope.body);
      candidates.push({
        message,
        envelope,
        eventId,
        id: deliveryId(eventId, endpoint.id),
        collisionId: deliveryId(eventId, endpoint.id, digest),
        digest,
      });
    }
    const ids = [...new Set(candidates.flatMap((c) => [c.id, c.collisionId]))];
    const stored = await findStoredDeliveries(options.pool, ids, { signal: batchSignal, logger });
    const sends: Array<Promise<void>> = [];
    try {
      for (const c of candidates) {
        let id = c.id;
        let row = stored.get(id);
        // The same event id on another event: the live path gives it the body-derived id.
        if (row?.body_digest && !row.body_digest.equals(c.digest)) {
          id = c.collisionId;
          row = stored.get(id);
        }
        if (row?.status === 'succeeded') {
          counts.alreadySucceeded += 1;
          continue;
        }
        if (row?.status === 'pending' || row?.status === 'retrying') {
          counts.inFlight += 1;
          continue;
        }
        const resend = row !== undefined;
        if (options.dryRun) {
          counted(resend);
          continue;
        }
        const wait = pacer.wait(now());
        if (wait > 0) {
          await sleep(wait, batchSignal);
          await heartbeat();
        }
        const at = now();
        // A new series for a dead or cancelled delivery, so the retry consumer does not drop the
        // task as superseded; series 1 for one never made.
        const task: DeliveryTask = {
          deliveryId: id,
          endpointId: endpoint.id,
          eventId: c.eventId,
          eventType: c.envelope.event,
          eventTimestampMs: c.envelope.timestampMs,
          series: row ? row.series + 1 : 1,
          attempt: 1,
          firstAttemptAtMs: at,
          dueAtMs: at,
          delayMs: 0,
          body: c.envelope.body,
          // A replayed event's attempts continue its producer's trace, as the live path's do.
          trace: readTraceContext(c.message.headers),
        };
        // The `redelivery` header: due at once, its wait on the delay topic is not retry lateness.
        // Counted once Kafka has acknowledged it: progress and summary say what is really queued.
        const sent = options.producer.send(options.firstRetryTopic, encodeTask(task, { redelivery: 'replay' })).then(() => counted(resend));
        // Awaited below; a rejection while the loop still paces must not count as unhandled meanwhile.
        sent.catch(() => {});
        sends.push(sent);
        maybeReport();
      }
    } finally {
      // What was sent before a stop is counted before the stop is reported.
      await Promise.allSettled(sends);
    }
    await Promise.all(sends);
    const last = messages.at(-1)!;
    position.set(`${last.topic}/${last.partition}`, Number(last.offset) + 1);
    maybeReport();
  };

  function counted(resend: boolean): void {
    counts.delivered += 1;
    if (resend) counts.resent += 1;
  }

  const firstSeen = new Set<string>();
  function noteRetention(message: ConsumedMessage): void {
    const key = `${message.topic}/${message.partition}`;
    if (firstSeen.has(key)) return;
    firstSeen.add(key);
    const range = ranges.find((r) => r.topic === message.topic && r.partition === message.partition);
    if (!range?.mayBeTruncated || Number(message.offset) !== range.start) return;
    // At `since` itself counts: the deleted messages just before may share its millisecond. A
    // false alarm needs a deleted message older than `since` and a kept one exactly at it.
    if (message.timestampMs < options.since.getTime()) return;
    const gap = { topic: message.topic, partition: message.partition, earliestAvailable: new Date(message.timestampMs) };
    retentionGaps.push(gap);
    options.onRetentionGap?.(gap);
  }

  try {
    await readRanges({ kafka: options.kafka, groupId: options.groupId, ranges, onMessages, logger, signal });
  } catch (err) {
    // Stopped (cancelled, aborted, failed): the figures so far, exact, for the caller to record.
    options.onProgress?.(progress());
    throw err;
  }
  // Every range was read to its end (its last offsets may have been markers, not messages).
  for (const r of ranges) position.set(`${r.topic}/${r.partition}`, r.end);
  const final = progress();
  options.onProgress?.(final);
  return { ...final, dryRun: options.dryRun, ranges, retentionGaps };
}
