import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
import { signingSecrets, type Endpoint } from '../endpoints/endpoint.ts';
import type { EndpointIndex } from '../endpoints/endpoint-index.ts';
import { disableEndpoint, findEndpointById } from '../endpoints/endpoint-store.ts';
import { InvalidEventError } from '../errors.ts';
import { envelopeBody, type Envelope } from '../events/envelope.ts';
import type { EventDecoder } from '../events/event-decoder.ts';
import type { TopicNames } from '../kafka/kafka-client.ts';
import type { ConsumedMessage } from '../kafka/partition-consumer.ts';
import { isMessageTooLarge, type TopicProducer } from '../kafka/topic-producer.ts';
import type { AttemptRecord, DeliveryLogWriter, DeliveryRecord } from '../log/delivery-log-writer.ts';
import type { DeliveryStatusLookup, StoredDelivery } from '../log/delivery-status-lookup.ts';
import type { ReplayHorizon } from '../log/replay-horizon.ts';
import { resultClass, type Metrics } from '../metrics/metrics.ts';
import { decideRetry, type RetryTier } from '../retry/retry-schedule.ts';
import { decodeTask, encodeTask, headerString, type DeliveryTask } from '../retry/retry-message.ts';
import type { AttemptResult, Deliverer } from './deliverer.ts';
import { deliveryId } from './delivery-id.ts';
import type { EndpointLimiter } from './endpoint-limiter.ts';
import { withBackoff } from './with-backoff.ts';

export interface DispatcherOptions {
  db: Db;
  endpoints: { current(): EndpointIndex };
  deliverer: Deliverer;
  logWriter: DeliveryLogWriter;
  statusLookup: DeliveryStatusLookup;
  replayHorizon: ReplayHorizon;
  producer: TopicProducer;
  decodeEvent: EventDecoder;
  topics: TopicNames;
  tiers: readonly RetryTier[];
  limiter: EndpointLimiter;
  metrics: Metrics;
  logger: Logger;
  now?: () => number;
}

/** What tests and tooling can observe; metrics are fed directly. */
export interface DispatcherEvents {
  attempt: [{ deliveryId: string; endpointId: string; series: number; attempt: number; result: AttemptResult }];
  settled: [{ deliveryId: string; endpointId: string; status: DeliveryRecord['status']; reason: string | null }];
  invalid: [{ topic: string; partition: number; offset: string; reason: string; message: string }];
  retryFired: [{ deliveryId: string; tier: string; lateMs: number }];
}

/** One attempt to make, first or retried. */
interface AttemptContext {
  endpoint: Endpoint;
  deliveryId: string;
  eventId: string;
  eventType: string;
  eventTimestampMs: number;
  series: number;
  attempt: number;
  firstAttemptAtMs: number | null;
  /** The delay that preceded this attempt and when it was due (null for a first attempt). */
  delayMs: number | null;
  dueAtMs: number | null;
  body: Buffer;
  /** Where the event was read, for a first attempt from an input topic. */
  source: DeliveryRecord['source'];
}

const FINAL = new Set(['succeeded', 'dead', 'cancelled']);
const NONE_EXISTING: ReadonlyMap<string, StoredDelivery> = new Map();
const INVALID_HEAD_BYTES = 64 * 1024;

/**
 * The heart of the service: turns an input event into deliveries and a retry message into the
 * next attempt. Each handler resolves only when everything the message caused is durable (retry
 * or dead-letter message acknowledged, log rows written), so its offset may then be committed.
 */
export class Dispatcher extends EventEmitter<DispatcherEvents> {
  readonly #o: DispatcherOptions;
  readonly #now: () => number;
  readonly #tierByTopic: Map<string, RetryTier>;

  constructor(options: DispatcherOptions) {
    super();
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#tierByTopic = new Map(options.tiers.map((t, i) => [options.topics.retry[i]!, t]));
  }

  /** Handles one message of an input topic. */
  handleInput = async (message: ConsumedMessage, signal: AbortSignal): Promise<void> => {
    const { metrics, logger } = this.#o;
    let envelope: Envelope;
    try {
      envelope = await withBackoff(() => this.#o.decodeEvent(message.value), { signal, logger, what: 'decoding an event' });
    } catch (err) {
      if (err instanceof InvalidEventError) return this.#sendInvalid(message, err, signal);
      throw err;
    }
    metrics.eventConsumed(message.topic, envelope.event);
    const matches = this.#o.endpoints.current().match(envelope.event);
    if (matches.length === 0) return;

    const producerEventId = headerString(message.headers, 'event-id');
    const eventId = producerEventId ?? `${message.topic}/${message.partition}/${message.offset}`;
    const ids = matches.map((e) => deliveryId(eventId, e.id));
    // Deliveries made before a restart or rebalance are never sent twice. An offset-derived id can
    // only exist if this offset was read before (at or below the replay horizon); a producer's
    // event-id may repeat anywhere (a producer retry), so it is always looked up.
    const mayExist =
      producerEventId !== undefined ||
      (await withBackoff(() => this.#o.replayHorizon.mayHaveDeliveries(message.topic, message.partition, message.offset), {
        signal,
        logger,
        what: 'reading the replay horizon',
      }));
    const existing = mayExist
      ? await withBackoff(() => this.#o.statusLookup.find(ids), { signal, logger, what: 'looking up deliveries' })
      : NONE_EXISTING;
    const body = envelopeBody(envelope);
    const work: Promise<void>[] = [];
    for (let i = 0; i < matches.length; i++) {
      if (existing.has(ids[i]!)) continue; // made before a restart: never sent twice
      work.push(
        this.#attempt(
          {
            endpoint: matches[i]!,
            deliveryId: ids[i]!,
            eventId,
            eventType: envelope.event,
            eventTimestampMs: envelope.timestampMs,
            series: 1,
            attempt: 1,
            firstAttemptAtMs: null,
            delayMs: null,
            dueAtMs: null,
            body,
            source: { topic: message.topic, partition: message.partition, offset: message.offset },
          },
          signal,
        ),
      );
    }
    await settleAll(work);
  };

  /** Handles one message of a delay topic, once it is due. */
  handleRetry = async (message: ConsumedMessage, signal: AbortSignal): Promise<void> => {
    const { logger, metrics } = this.#o;
    const task = decodeTask(message.value, message.headers);
    if (!task) {
      return this.#sendInvalid(
        message,
        new InvalidEventError('bad_retry_message', 'a message on a delay topic lacks the delivery task headers'),
        signal,
      );
    }
    const tier = this.#tierByTopic.get(message.topic);
    const lateMs = Math.max(0, this.#now() - task.dueAtMs);
    // A redelivery is due at once but queues behind retries not yet due: its wait is no lateness.
    if (headerString(message.headers, 'redelivery') === undefined) {
      if (tier) metrics.retryLateness.observe({ tier: tier.label }, lateMs / 1000);
      this.emit('retryFired', { deliveryId: task.deliveryId, tier: tier?.label ?? message.topic, lateMs });
    }

    const [endpoint, stored] = await withBackoff(
      () => Promise.all([findEndpointById(this.#o.db, task.endpointId), this.#o.statusLookup.find([task.deliveryId])]),
      { signal, logger, what: 'looking up a retried delivery' },
    );
    if (isSuperseded(stored.get(task.deliveryId), task)) return;
    if (!endpoint || !endpoint.enabled) {
      const reason = endpoint ? 'endpoint disabled' : 'endpoint deleted';
      await this.#record(this.#taskContext(task, endpoint), 'cancelled', reason, task.attempt - 1, null, null, signal);
      metrics.deliveryReached('cancelled', task.eventType, endpoint?.name ?? '');
      return;
    }
    await this.#attempt(this.#taskContext(task, endpoint), signal);
  };

  #taskContext(task: DeliveryTask, endpoint: Endpoint | null): AttemptContext {
    return {
      endpoint: endpoint ?? {
        id: task.endpointId,
        name: '',
        url: '',
        secret: '',
        previousSecret: null,
        previousSecretExpiresAt: null,
        eventTypes: [],
        enabled: false,
      },
      deliveryId: task.deliveryId,
      eventId: task.eventId,
      eventType: task.eventType,
      eventTimestampMs: task.eventTimestampMs,
      series: task.series,
      attempt: task.attempt,
      firstAttemptAtMs: task.firstAttemptAtMs,
      delayMs: task.delayMs,
      dueAtMs: task.dueAtMs,
      body: task.body,
      source: null,
    };
  }

  /** Makes one attempt and settles what follows from it. */
  async #attempt(ctx: AttemptContext, signal: AbortSignal): Promise<void> {
    const { metrics, logger, limiter, deliverer } = this.#o;
    const release = await limiter.acquire(ctx.endpoint.id);
    let result: AttemptResult;
    if (!release) {
      // The endpoint has stalled: its request slots are full and none has freed for
      // ENDPOINT_STALL_MS. Waiting for a slot would hold this Kafka message (and with it the
      // partition's commit) hostage, so the attempt fails at once, unsent, and follows the retry
      // schedule like any failure: a circuit breaker that closes as soon as the endpoint answers.
      result = {
        outcome: 'failed',
        statusCode: null,
        errorKind: 'stalled',
        error: `not sent: the endpoint stopped answering (${limiter.active(ctx.endpoint.id)} requests in flight, none answered recently)`,
        responseBody: null,
        durationMs: 0,
        startedAt: new Date(this.#now()),
        retryAfterMs: null,
        permanent: false,
      };
    } else {
      metrics.deliveriesInFlight.inc();
      let answered = false;
      try {
        result = await deliverer.deliver({
          url: ctx.endpoint.url,
          deliveryId: ctx.deliveryId,
          eventType: ctx.eventType,
          attempt: ctx.attempt,
          body: ctx.body,
          secrets: signingSecrets(ctx.endpoint, this.#now()),
          signal,
        });
        answered = result.errorKind !== 'timeout' && result.errorKind !== 'aborted';
      } finally {
        metrics.deliveriesInFlight.dec();
        release(answered);
      }
    }
    if (result.errorKind === 'aborted') throw signal.reason ?? new Error('aborted');
    const rc = resultClass(result.statusCode, result.errorKind);
    metrics.attemptFinished(rc, ctx.eventType, ctx.endpoint.name, result.durationMs / 1000);
    this.emit('attempt', { deliveryId: ctx.deliveryId, endpointId: ctx.endpoint.id, series: ctx.series, attempt: ctx.attempt, result });
    const attemptRow: AttemptRecord = {
      deliveryId: ctx.deliveryId,
      endpointId: ctx.endpoint.id,
      series: ctx.series,
      attempt: ctx.attempt,
      startedAt: result.startedAt,
      durationMs: result.durationMs,
      delayMs: ctx.delayMs,
      dueAtMs: ctx.dueAtMs,
      url: ctx.endpoint.url,
      outcome: result.outcome,
      statusCode: result.statusCode,
      errorKind: result.errorKind,
      error: result.error,
      responseBody: result.responseBody,
    };
    const firstAt = ctx.firstAttemptAtMs ?? result.startedAt.getTime();
    const done = { ...ctx, firstAttemptAtMs: firstAt };

    if (result.outcome === 'succeeded') {
      await this.#record(done, 'succeeded', null, ctx.attempt, attemptRow, null, signal);
      metrics.deliveryReached('succeeded', ctx.eventType, ctx.endpoint.name, (this.#now() - ctx.eventTimestampMs) / 1000);
      return;
    }

    const log = logger.child({ deliveryId: ctx.deliveryId, endpointId: ctx.endpoint.id, attempt: ctx.attempt, eventType: ctx.eventType });
    const decision = decideRetry(this.#o.tiers, ctx.attempt, this.#now(), {
      retryAfterMs: result.retryAfterMs,
      permanent: result.permanent,
    });
    if (decision.kind === 'retry') {
      const task = this.#task(done, decision.nextAttempt, decision.dueAtMs, decision.tier.delayMs);
      await withBackoff(() => this.#o.producer.send(this.#o.topics.retry[decision.tier.index]!, encodeTask(task)), {
        signal,
        logger,
        what: 'scheduling a retry',
      });
      metrics.retriesScheduled.inc({ tier: decision.tier.label });
      metrics.deliveryReached('retried', ctx.eventType, ctx.endpoint.name);
      log.info(
        { error: result.error, retryIn: decision.tier.label, nextAttempt: decision.nextAttempt },
        'delivery attempt failed; retry scheduled',
      );
      await this.#record(done, 'retrying', result.error, ctx.attempt, attemptRow, decision.dueAtMs, signal);
      return;
    }

    let reason = decision.reason;
    if (result.permanent) {
      reason = `410 Gone: endpoint disabled`;
      await withBackoff(
        () => disableEndpoint(this.#o.db, ctx.endpoint.id, `410 Gone from ${ctx.endpoint.url} at ${new Date(this.#now()).toISOString()}`),
        {
          signal,
          logger,
          what: 'disabling an endpoint',
        },
      );
      log.warn({ error: result.error }, 'endpoint answered 410 Gone; delivery dead and endpoint disabled');
    } else {
      log.warn({ error: result.error }, 'delivery dead after its last attempt');
    }
    const task = this.#task(done, ctx.attempt, this.#now(), ctx.delayMs ?? 0);
    await withBackoff(
      () =>
        this.#o.producer.send(
          this.#o.topics.deadLetter,
          encodeTask(task, {
            'dead-reason': reason,
            'last-error': result.error ?? '',
            'last-status-code': result.statusCode === null ? '' : String(result.statusCode),
            'endpoint-name': ctx.endpoint.name,
          }),
        ),
      { signal, logger, what: 'dead-lettering a delivery' },
    );
    await this.#record(done, 'dead', reason, ctx.attempt, attemptRow, null, signal);
    metrics.deliveryReached('dead', ctx.eventType, ctx.endpoint.name);
  }

  #task(ctx: AttemptContext, attempt: number, dueAtMs: number, delayMs: number): DeliveryTask {
    return {
      deliveryId: ctx.deliveryId,
      endpointId: ctx.endpoint.id,
      eventId: ctx.eventId,
      eventType: ctx.eventType,
      eventTimestampMs: ctx.eventTimestampMs,
      series: ctx.series,
      attempt,
      firstAttemptAtMs: ctx.firstAttemptAtMs ?? this.#now(),
      dueAtMs,
      delayMs,
      body: ctx.body,
    };
  }

  async #record(
    ctx: AttemptContext,
    status: DeliveryRecord['status'],
    reason: string | null,
    attempts: number,
    attempt: AttemptRecord | null,
    nextAttemptAtMs: number | null,
    signal: AbortSignal,
  ): Promise<void> {
    const delivery: DeliveryRecord = {
      deliveryId: ctx.deliveryId,
      endpointId: ctx.endpoint.id,
      eventId: ctx.eventId,
      eventType: ctx.eventType,
      eventTimestampMs: ctx.eventTimestampMs,
      status,
      statusReason: reason,
      series: ctx.series,
      attempts,
      lastStatusCode: attempt?.statusCode ?? null,
      lastError: attempt?.error ?? null,
      firstAttemptAtMs: ctx.firstAttemptAtMs,
      lastAttemptAtMs: attempt ? attempt.startedAt.getTime() : null,
      nextAttemptAtMs,
      // Failed deliveries keep their body so an admin can redeliver them later.
      payload: status === 'succeeded' || status === 'cancelled' || (status === 'retrying' && ctx.attempt > 1) ? null : ctx.body,
      source: ctx.source,
    };
    const cancelledRow: AttemptRecord | null =
      status === 'cancelled'
        ? {
            deliveryId: ctx.deliveryId,
            endpointId: ctx.endpoint.id,
            series: ctx.series,
            attempt: ctx.attempt,
            startedAt: new Date(this.#now()),
            durationMs: 0,
            delayMs: ctx.delayMs,
            dueAtMs: ctx.dueAtMs,
            url: ctx.endpoint.url,
            outcome: 'cancelled',
            statusCode: null,
            errorKind: 'cancelled',
            error: reason,
            responseBody: null,
          }
        : null;
    if (signal.aborted) throw signal.reason;
    await this.#o.logWriter.record(delivery, attempt ?? cancelledRow);
    this.emit('settled', { deliveryId: ctx.deliveryId, endpointId: ctx.endpoint.id, status, reason });
  }

  async #sendInvalid(message: ConsumedMessage, err: InvalidEventError, signal: AbortSignal): Promise<void> {
    const { logger, metrics, producer, topics } = this.#o;
    const headers: Record<string, string | Buffer> = {};
    for (const [k, v] of Object.entries(message.headers ?? {})) {
      const one = Array.isArray(v) ? v[0] : v;
      if (one !== undefined) headers[k] = Buffer.isBuffer(one) ? one : String(one);
    }
    Object.assign(headers, {
      'source-topic': message.topic,
      'source-partition': String(message.partition),
      'source-offset': message.offset,
      'error-code': err.code,
      'error-reason': err.reason,
      'error-message': err.message.slice(0, 1000),
    });
    const key = message.key?.toString('utf8') ?? null;
    const value = message.value ?? Buffer.alloc(0);
    await withBackoff(
      async () => {
        try {
          await producer.send(topics.invalid, { key, value, headers });
        } catch (err) {
          if (!isMessageTooLarge(err)) throw err;
          // Larger than even the invalid topic takes: keep its head, say how large it was.
          await producer.send(topics.invalid, {
            key,
            value: value.subarray(0, INVALID_HEAD_BYTES),
            headers: { ...headers, 'value-truncated-from-bytes': String(value.length) },
          });
        }
      },
      { signal, logger, what: 'sending an event to the invalid topic' },
    );
    metrics.eventsInvalid.inc({ topic: message.topic, reason: err.reason });
    logger.warn(
      { topic: message.topic, partition: message.partition, offset: message.offset, reason: err.reason, error: err.message },
      'invalid event sent to the invalid topic',
    );
    this.emit('invalid', {
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      reason: err.reason,
      message: err.message,
    });
  }
}

/** A retry message made stale by a later state of its delivery (a duplicate, or a newer series). */
function isSuperseded(stored: StoredDelivery | undefined, task: DeliveryTask): boolean {
  if (!stored) return false;
  if (stored.series !== task.series) return stored.series > task.series;
  return FINAL.has(stored.status) || stored.attempts >= task.attempt;
}

/** Like Promise.all, but waits for every promise before rethrowing the first failure. */
async function settleAll(work: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(work);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}
