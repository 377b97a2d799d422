import { EventEmitter } from 'node:events';
import type { Endpoint } from '../endpoints/endpoint.ts';
import type { EndpointIndex } from '../endpoints/endpoint-index.ts';
import { InvalidEventError, TransientError, type HandlerFailedError } from '../errors.ts';
import { envelopeBody, type Envelope } from '../events/envelope.ts';
import { producerEventId } from '../events/event-id.ts';
import type { ConsumedMessage } from '../kafka/partition-consumer.ts';
import { resultClass } from '../metrics/metrics.ts';
import { badTaskReason, decodeTask, headerString, THROTTLED_HEADER } from '../retry/retry-message.ts';
import type { KeyTurn } from '../ordering/key-turns.ts';
import type { ClaimOutcome } from '../log/delivery-claims.ts';
import { readTraceContext } from '../tracing/trace-context.ts';
import { sleep } from '../util/backoff.ts';
import {
  attemptRecord,
  cancelledAttemptRecord,
  contextFromTask,
  deliveryRecord,
  firstAttemptContext,
  taskOf,
  type AttemptContext,
  type Settlement,
} from './attempt-context.ts';
import { DeliveryBudget } from './delivery-budget.ts';
import { FINAL, isSuperseded, settleAll } from './delivery-settling.ts';
import { FirstAttemptClaim } from './claim-request.ts';
import { bodyDigest } from './delivery-id.ts';
import { THROTTLED_REASONS } from './endpoint-throttle.ts';
import { quarantineReason, sendToInvalidTopic } from './invalid-topic.ts';
import { sendWithinLimits, type AttemptSenderParts } from './send-attempt.ts';
import { withBackoff, withBackoffCall, type BackoffSite } from './with-backoff.ts';
import type { DispatcherEvents, DispatcherOptions } from './dispatcher-options.ts';

export type { DispatcherEvents, DispatcherOptions } from './dispatcher-options.ts';

/** What an input event's deliveries need of it, once decoded and matched. */
interface MatchedEvent {
  event: string;
  timestampMs: number;
  body: Buffer;
  matches: readonly Endpoint[];
}

/**
 * The heart of the service: turns an input event into deliveries and a retry message into the
 * next attempt. Each handler resolves only when everything the message caused is durable (retry
 * or dead-letter message acknowledged, log rows written), so its offset may then be committed.
 */
export class Dispatcher extends EventEmitter<DispatcherEvents> {
  readonly #o: DispatcherOptions;
  readonly #now: () => number;
  readonly #sender: AttemptSenderParts;
  readonly #budget: DeliveryBudget;
  readonly #decoding: BackoffSite;
  readonly #claiming: BackoffSite;
  readonly #claim: (requests: readonly FirstAttemptClaim[], signal: AbortSignal) => Promise<ClaimOutcome[]>;

  constructor(options: DispatcherOptions) {
    super();
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#budget = options.budget ?? new DeliveryBudget(Number.MAX_SAFE_INTEGER);
    const { limiter, throttle, deliverer, metrics } = options;
    this.#sender = { limiter, throttle, deliverer, metrics, now: this.#now };
    const site = { logger: options.logger, observer: options.backoffObserver };
    this.#decoding = { ...site, what: 'decoding an event' };
    this.#claiming = { ...site, what: 'claiming deliveries' };
    this.#claim = (requests, signal) => options.claims.claim(requests, signal);
  }

  #retry<T>(fn: () => Promise<T>, what: string, signal: AbortSignal): Promise<T> {
    return withBackoff(fn, { signal, logger: this.#o.logger, observer: this.#o.backoffObserver, what });
  }

  /** Handles one message of an input topic. */
  handleInput = (message: ConsumedMessage, signal: AbortSignal): Promise<void> => {
    const index = this.#o.endpoints.current();
    // Without per_key endpoints there is no turn to give back: no frame of its own around the
    // message (each in-flight message holds its chain of async frames until it settles).
    // Taken before the first await, in the order the consumer starts handlers (offset order).
    const turn = index.ordered > 0 ? (this.#o.order?.turn(message) ?? null) : null;
    if (turn === null) return this.#input(message, index, null, signal);
    return this.#inTurn(message, index, turn, signal);
  };

  async #inTurn(message: ConsumedMessage, index: EndpointIndex, turn: KeyTurn, signal: AbortSignal): Promise<void> {
    try {
      await this.#input(message, index, turn, signal);
    } finally {
      turn.done();
    }
  }

  async #input(message: ConsumedMessage, index: EndpointIndex, turn: KeyTurn | null, signal: AbortSignal): Promise<void> {
    const { metrics } = this.#o;
    let envelope: Envelope | null;
    try {
      envelope = await withBackoffCall(this.#o.decodeEvent, message.value, undefined, this.#decoding, signal);
    } catch (err) {
      if (err instanceof InvalidEventError) return this.#sendInvalid(message, err, signal);
      throw err;
    }
    metrics.eventConsumed(message.topic, envelope.event);
    let matches = index.match(envelope.event);
    if (index.filtered > 0 && matches.length > 0) {
      // An event an endpoint's filter excludes creates no delivery (and so no claim, no log row).
      const e0 = envelope;
      const kept = matches.filter((e) => index.accepts(e, e0));
      for (const e of matches) if (!kept.includes(e)) metrics.eventFiltered(e0.event, e.name);
      matches = kept;
    }
    if (matches.length === 0) return;
    const event: MatchedEvent = { event: envelope.event, timestampMs: envelope.timestampMs, body: envelopeBody(envelope), matches };
    // Only what the deliveries need is kept: the parsed `data` is garbage from here, instead of
    // living through every claim, POST and log write of the message (long enough to be promoted
    // to the old space, and copied on the way). Not useless: a suspended async frame keeps the
    // values of its locals, read again or not, until the function returns.
    // eslint-disable-next-line no-useless-assignment
    envelope = null;
    // A message holding a per-key turn may be waited on by later ones: it never waits for room.
    const deliver = (settledOne: () => void): Promise<void> => this.#deliver(message, event, turn, signal, settledOne);
    await this.#budget.run(matches.length, turn !== null, signal, deliver);
  }

  async #deliver(
    message: ConsumedMessage,
    event: MatchedEvent,
    turn: KeyTurn | null,
    signal: AbortSignal,
    settledOne: () => void,
  ): Promise<void> {
    const { matches, body } = event;
    // An empty or unusable event-id header counts as absent: the position is the id then.
    const eventId = producerEventId(message.headers) ?? `${message.topic}/${message.partition}/${message.offset}`;
    const digest = bodyDigest(body);
    const source = { topic: message.topic, partition: message.partition, offset: message.offset };
    const trace = readTraceContext(message.headers);
    const requests = matches.map(
      (e) =>
        new FirstAttemptClaim({
          endpointId: e.id,
          eventId,
          eventType: event.event,
          eventTimestampMs: event.timestampMs,
          bodyDigest: digest,
          source,
        }),
    );
    // Every delivery is claimed in Postgres before it is sent (one statement for the message), so
    // a copy of this event handled at the same time, or made before a restart or rebalance, is
    // not sent again; an id that belongs to a different event (other body) gets another id.
    const outcomes = await withBackoffCall(this.#claim, requests, signal, this.#claiming, signal);
    const work: Promise<void>[] = [];
    const ordered: AttemptContext[] = [];
    for (let i = 0; i < matches.length; i++) {
      const { deliveryId: id, claimed } = outcomes[i]!;
      if (!claimed) {
        settledOne(); // made (or being made) already: never sent twice
        continue;
      }
      const ctx = firstAttemptContext(matches[i]!, id, eventId, event, body, source, trace);
      if (turn && matches[i]!.ordering === 'per_key') ordered.push({ ...ctx, ordered: true });
      else work.push(this.#attempt(ctx, signal).finally(settledOne));
    }
    if (ordered.length === 0) turn?.done();
    else work.push(this.#enterOrdered(ordered, message.key!, turn!, signal));
    const claimed = outcomes.filter((o) => o.claimed).map((o) => o.deliveryId);
    try {
      await settleAll(work);
    } catch (err) {
      this.#o.claims.abandon(claimed);
      throw err;
    }
    this.#o.claims.release(claimed);
  }

  /** The deliveries of per_key endpoints: the heads of their key queues are sent now, the others park. */
  async #enterOrdered(ctxs: AttemptContext[], key: Buffer, turn: KeyTurn, signal: AbortSignal): Promise<void> {
    const entries = ctxs.map((c) => ({ ...c, endpointId: c.endpoint.id, source: c.source!, key }));
    const states = await this.#o.order!.enter(entries, turn, signal);
    await settleAll(ctxs.filter((_, i) => states[i] === 'active').map((c) => this.#attempt(c, signal)));
  }

  /** Handles one message of a delay topic, once it is due. */
  handleRetry = async (message: ConsumedMessage, signal: AbortSignal): Promise<void> => {
    const { metrics } = this.#o;
    const task = decodeTask(message.value, message.headers);
    if (!task) {
      const reason = `a message on a delay topic is not a delivery task: ${badTaskReason(message.value, message.headers)}`;
      return this.#sendInvalid(message, new InvalidEventError('bad_retry_message', reason), signal);
    }
    const tier = this.#o.retries.tierOf(message.topic);
    const lateMs = Math.max(0, this.#now() - task.dueAtMs);
    // A redelivery is due at once but queues behind retries not yet due: its wait is no lateness.
    if (headerString(message.headers, 'redelivery') === undefined) {
      if (tier) metrics.retryLateness.observe({ tier: tier.label }, lateMs / 1000);
      this.emit('retryFired', { deliveryId: task.deliveryId, tier: tier?.label ?? message.topic, lateMs });
    }

    const [found, stored] = await this.#retry(
      () => Promise.all([this.#o.endpointLookup.find([task.endpointId]), this.#o.statusLookup.find([task.deliveryId])]),
      'looking up a retried delivery',
      signal,
    );
    const endpoint = found.get(task.endpointId) ?? null;
    const before = stored.get(task.deliveryId);
    if (isSuperseded(before, task)) {
      // A settled head whose release was cut short (a copy of its last task): release it now.
      if (task.ordered && FINAL.has(before!.status)) await this.#o.order?.settled(task.deliveryId, signal);
      return;
    }
    if (!endpoint || !endpoint.enabled) {
      const reason = endpoint ? 'endpoint disabled' : 'endpoint deleted';
      await this.#record(
        contextFromTask(task, endpoint),
        { status: 'cancelled', reason, attempts: task.attempt - 1, attempt: null },
        signal,
      );
      metrics.deliveryReached('cancelled', task.eventType, endpoint?.name ?? '');
      return;
    }
    await this.#attempt(contextFromTask(task, endpoint), signal, headerString(message.headers, THROTTLED_HEADER) !== undefined);
  };

  /** Makes one attempt and settles what follows; over its rate limit it waits or parks (`throttled`: back from parking). */
  async #attempt(ctx: AttemptContext, signal: AbortSignal, throttled = false): Promise<void> {
    const { metrics, throttle, throttleWaitMs } = this.#o;
    const waitMs = throttle.admit(ctx.endpoint.id, ctx.endpoint.maxPerSecond, throttleWaitMs, throttled);
    if (waitMs > 0) {
      if (waitMs > throttleWaitMs) return this.#park(ctx, waitMs, signal);
      metrics.deliveryThrottled(ctx.endpoint.name, 'waited');
      await sleep(waitMs, signal);
    }
    const { result, traceparent } = await sendWithinLimits(ctx, this.#sender, signal);
    if (result.errorKind === 'aborted') throw signal.reason ?? new TransientError('attempt aborted');
    const rc = resultClass(result.statusCode, result.errorKind);
    metrics.attemptFinished(rc, ctx.eventType, ctx.endpoint.name, result.durationMs / 1000);
    // Per delivery, and usually nobody listens (tests, tooling): no event object then.
    if (this.listenerCount('attempt') > 0)
      this.emit('attempt', { deliveryId: ctx.deliveryId, endpointId: ctx.endpoint.id, series: ctx.series, attempt: ctx.attempt, result });
    const attemptRow = attemptRecord(ctx, result, traceparent);
    // Set on the context itself, not on a copy of it: this attempt owns it (each is made for one
    // attempt), and a copy per delivery would live until its log row is written.
    ctx.firstAttemptAtMs ??= result.startedAt.getTime();

    if (result.outcome === 'succeeded') {
      await this.#record(ctx, { status: 'succeeded', attempts: ctx.attempt, attempt: attemptRow }, signal);
      metrics.deliveryReached('succeeded', ctx.eventType, ctx.endpoint.name, (this.#now() - ctx.eventTimestampMs) / 1000);
      return;
    }

    const next = await this.#o.retries.afterFailure(taskOf(ctx, this.#now()), { endpoint: ctx.endpoint, ...result }, signal);
    await this.#record(ctx, { ...next, attempts: ctx.attempt, attempt: attemptRow }, signal);
    if (next.status === 'dead') metrics.deliveryReached('dead', ctx.eventType, ctx.endpoint.name);
  }

  /**
   * Parks an attempt its endpoint's limit holds back on a delay topic, its number not used up, so
   * this message settles (and commits) while the endpoint waits: waiting in memory would hold the
   * partition's commit and the other endpoints behind it. Recorded `retrying`, no attempt row.
   */
  async #park(ctx: AttemptContext, waitMs: number, signal: AbortSignal): Promise<void> {
    const { throttle, metrics } = this.#o;
    const reason = THROTTLED_REASONS[throttle.reason(ctx.endpoint.id)];
    const task = { ...taskOf(ctx, this.#now()), firstAttemptAtMs: ctx.firstAttemptAtMs ?? 0 };
    const nextAttemptAtMs = await this.#o.retries.park(task, throttle.park(ctx.endpoint.id, waitMs), signal);
    await this.#record(ctx, { status: 'retrying', reason, attempts: ctx.attempt - 1, attempt: null, nextAttemptAtMs }, signal);
    metrics.deliveryThrottled(ctx.endpoint.name, 'parked');
  }

  async #record(ctx: AttemptContext, settlement: Settlement, signal: AbortSignal): Promise<void> {
    const { status, attempt } = settlement;
    const reason = settlement.reason ?? null;
    const delivery = deliveryRecord(ctx, settlement);
    const cancelledRow = status === 'cancelled' ? cancelledAttemptRecord(ctx, reason, this.#now()) : null;
    // A success is recorded even when the stop (or a rejoin) has begun: the receiver has it, and
    // forgetting it would send it again. The writer's bounded close() ends that wait.
    if (status === 'succeeded') await this.#o.logWriter.record(delivery, attempt);
    else await this.#o.logWriter.record(delivery, attempt ?? cancelledRow, signal);
    if (this.listenerCount('settled') > 0)
      this.emit('settled', { deliveryId: ctx.deliveryId, endpointId: ctx.endpoint.id, status, reason });
    // Once the head's final state is durable, the next delivery of its key may go.
    if (ctx.ordered && status !== 'retrying') await this.#o.order?.settled(ctx.deliveryId, signal);
  }

  /**
   * For the consumers: a message whose handling failed for good goes to the invalid topic, with
   * the poison's reason, or `handler_failed` for an error nobody classified.
   */
  quarantine = (message: ConsumedMessage, error: unknown, signal: AbortSignal): Promise<void> =>
    this.#sendInvalid(message, quarantineReason(error), signal);

  async #sendInvalid(message: ConsumedMessage, err: InvalidEventError | HandlerFailedError, signal: AbortSignal): Promise<void> {
    const { logger, metrics, producer, topics } = this.#o;
    await sendToInvalidTopic({ producer, topic: topics.invalid, logger, observer: this.#o.backoffObserver }, message, err, signal);
    metrics.eventsInvalid.inc({ topic: message.topic, reason: err.reason });
    const where = { topic: message.topic, partition: message.partition, offset: message.offset };
    logger.warn({ ...where, reason: err.reason, error: err.message }, 'invalid event sent to the invalid topic');
    this.emit('invalid', { ...where, reason: err.reason, message: err.message });
  }
}
