import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
import { safeOrigin } from '../delivery/egress-connector.ts';
import { withBackoff, type BackoffObserver } from '../delivery/with-backoff.ts';
import { disableEndpoint } from '../endpoints/endpoint-store.ts';
import type { TopicProducer } from '../kafka/topic-producer.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { encodeTask, THROTTLED_HEADER, type DeliveryTask, type TaskFormat } from './retry-message.ts';
import { decideRetry, parkTier, type RetryTier } from './retry-schedule.ts';
import type { RetryTopicNames } from './retry-topics.ts';

export interface RetrySchedulerOptions {
  db: Db;
  producer: TopicProducer;
  topics: RetryTopicNames;
  tiers: readonly RetryTier[];
  /** How retry and parked messages carry their task (default `headers`; see TaskFormat). The dead-letter topic always gets `headers`. */
  format?: TaskFormat;
  metrics: Metrics;
  logger: Logger;
  backoffObserver?: BackoffObserver;
  now?: () => number;
}

/** What failed: the attempt's endpoint and result, as the deliverer returned it. */
export interface FailedAttempt {
  endpoint: { id: string; name: string; url: string };
  error: string | null;
  statusCode: number | null;
  retryAfterMs: number | null;
  /** 410 Gone: no retry, and the endpoint is disabled. */
  permanent: boolean;
  /** False when the attempt was refused before sending (egress guard, REQUIRE_HTTPS): dead at once, endpoint untouched. */
  retryable: boolean;
  errorKind: string | null;
}

/** What the delivery log records after a failed attempt. */
export type RetryOutcome = { status: 'retrying'; reason: string | null; nextAttemptAtMs: number } | { status: 'dead'; reason: string };

/**
 * Decides what follows a failed attempt and makes it durable: the next attempt on its delay topic
 * (the schedule's tier, or a longer one for a Retry-After), or the delivery on the dead-letter
 * topic after its last attempt or a 410 Gone, which also disables the endpoint. Resolves once
 * the broker acknowledged, so the caller may record the outcome and settle its message.
 */
export class RetryScheduler {
  readonly #o: RetrySchedulerOptions;
  readonly #now: () => number;
  readonly #tierByTopic: Map<string, RetryTier>;
  readonly #format: TaskFormat;

  constructor(options: RetrySchedulerOptions) {
    this.#o = options;
    this.#format = options.format ?? 'headers';
    this.#now = options.now ?? Date.now;
    this.#tierByTopic = new Map(options.tiers.map((t, i) => [options.topics.retry[i]!, t]));
  }

  /** The tier of the delay topic `topic`, for the lateness metric. */
  tierOf(topic: string): RetryTier | undefined {
    return this.#tierByTopic.get(topic);
  }

  /**
   * Parks `task` (an attempt not made yet: its number is not used up) on a delay topic until
   * about `dueAtMs`, because its endpoint's rate limit or Retry-After holds it back. Resolves
   * with the due time once the broker acknowledged (possibly earlier than asked: see parkTier).
   */
  async park(task: DeliveryTask, dueAtMs: number, signal: AbortSignal): Promise<number> {
    const { tier, dueAtMs: due } = parkTier(this.#o.tiers, dueAtMs - this.#now(), this.#now());
    const parked = encodeTask({ ...task, dueAtMs: due }, { [THROTTLED_HEADER]: '1' }, this.#format);
    await withBackoff(() => this.#o.producer.send(this.#o.topics.retry[tier.index]!, parked), {
      signal,
      logger: this.#o.logger,
      observer: this.#o.backoffObserver,
      what: 'parking a throttled delivery',
    });
    return due;
  }

  /** `task` is the attempt that failed (its number, first-attempt time, delay and body). */
  async afterFailure(task: DeliveryTask, failed: FailedAttempt, signal: AbortSignal): Promise<RetryOutcome> {
    const { metrics, logger, producer, topics } = this.#o;
    // The endpoint by name and origin: a URL's path and query may carry a token (Slack-style URLs).
    // Made only when a line is written: a child logger per failed attempt was a tenth of a hung
    // endpoint's cost per stalled attempt, for an info line that is usually filtered out.
    const log = (): Logger =>
      logger.child({
        deliveryId: task.deliveryId,
        endpointId: failed.endpoint.id,
        endpoint: failed.endpoint.name,
        origin: safeOrigin(failed.endpoint.url),
        attempt: task.attempt,
        eventType: task.eventType,
      });
    const decision = decideRetry(this.#o.tiers, task.attempt, this.#now(), {
      retryAfterMs: failed.retryAfterMs,
      permanent: failed.permanent,
      retryable: failed.retryable,
    });
    if (decision.kind === 'retry') {
      const next = { ...task, attempt: decision.nextAttempt, dueAtMs: decision.dueAtMs, delayMs: decision.tier.delayMs };
      await withBackoff(() => producer.send(topics.retry[decision.tier.index]!, encodeTask(next, {}, this.#format)), {
        signal,
        logger,
        observer: this.#o.backoffObserver,
        what: 'scheduling a retry',
      });
      metrics.retriesScheduled.inc({ tier: decision.tier.label });
      metrics.deliveryReached('retried', task.eventType, failed.endpoint.name);
      if (logger.isLevelEnabled('info')) {
        log().info(
          { error: failed.error, retryIn: decision.tier.label, nextAttempt: decision.nextAttempt },
          'delivery attempt failed; retry scheduled',
        );
      }
      return { status: 'retrying', reason: failed.error, nextAttemptAtMs: decision.dueAtMs };
    }

    let reason = decision.reason;
    if (failed.permanent) {
      reason = `410 Gone: endpoint disabled`;
      const why = `410 Gone from ${safeOrigin(failed.endpoint.url)} at ${new Date(this.#now()).toISOString()}`;
      await withBackoff(() => disableEndpoint(this.#o.db, failed.endpoint.id, why), {
        signal,
        logger,
        observer: this.#o.backoffObserver,
        what: 'disabling an endpoint',
      });
      log().warn({ error: failed.error }, 'endpoint answered 410 Gone; delivery dead and endpoint disabled');
    } else if (!failed.retryable) {
      log().warn({ error: failed.error, errorKind: failed.errorKind }, 'delivery refused before sending; dead, not retried');
    } else {
      log().warn({ error: failed.error }, 'delivery dead after its last attempt');
    }
    const dead = encodeTask(
      { ...task, dueAtMs: this.#now() },
      {
        'dead-reason': reason,
        'last-error': failed.error ?? '',
        'last-status-code': failed.statusCode === null ? '' : String(failed.statusCode),
        'endpoint-name': failed.endpoint.name,
      },
    );
    await withBackoff(() => producer.send(topics.deadLetter, dead), {
      signal,
      logger,
      observer: this.#o.backoffObserver,
      what: 'dead-lettering a delivery',
    });
    return { status: 'dead', reason };
  }
}
