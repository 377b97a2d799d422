import { EventEmitter } from 'node:events';
import type pg from 'pg';
import type { Logger } from 'pino';
import { withBackoff, type BackoffObserver } from '../delivery/with-backoff.ts';
import type { TopicProducer } from '../kafka/topic-producer.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { encodeTask } from '../retry/retry-message.ts';
import { startPeriodicJob, type PeriodicJob } from '../util/periodic-job.ts';
import {
  countParked,
  enterKeyQueue,
  markHandedOff,
  releaseKeyQueue,
  sweepKeyQueues,
  type QueueEntry,
  type QueueState,
  type ReleasedDelivery,
} from './key-queue-store.ts';
import { KeyTurns, type KeyTurn } from './key-turns.ts';

export interface KeyOrderOptions {
  pool: pg.Pool;
  producer: TopicProducer;
  /** Released heads go here, due at once, and take the normal retry path from there. */
  firstRetryTopic: string;
  /** A released head whose hand-off was not acknowledged for this long is handed off again, ms. */
  handOffLeaseMs: number;
  metrics: Metrics;
  logger: Logger;
  backoffObserver?: BackoffObserver;
  now?: () => number;
}

/** What tests and tooling can observe. */
export interface KeyOrderEvents {
  parked: [{ deliveryId: string; endpointId: string }];
  released: [{ deliveryId: string; endpointId: string }];
}

/**
 * Per-key ordering for endpoints with `ordering = 'per_key'`: deliveries of events with the same
 * Kafka key (in one input partition) reach the endpoint in offset order. The first attempt of
 * such a delivery enters its key queue in Postgres (webhooks.ordered_deliveries): the head is sent
 * at once; a later one is parked there durably, so its input offset can be committed, until the
 * head settles (succeeded, dead or cancelled). Then the next one is released to the first delay
 * topic, due at once, and goes through the normal attempt and retry path as the new head.
 *
 * Crash safety: the release is idempotent (webhooks.release_key_queue under the queue's lock), and
 * the periodic sweep releases heads that settled without releasing and hands off again released
 * heads whose hand-off was never acknowledged. A second copy of a released task is skipped by
 * the retry path once the first one has been attempted.
 */
export class KeyOrder extends EventEmitter<KeyOrderEvents> {
  readonly #o: KeyOrderOptions;
  readonly #now: () => number;
  readonly #turns = new KeyTurns();

  constructor(options: KeyOrderOptions) {
    super();
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** The message's turn among its key's messages; null for a message without a key (never ordered). */
  turn(message: { topic: string; partition: number; key: Buffer | null }): KeyTurn | null {
    return message.key === null ? null : this.#turns.take(message.topic, message.partition, message.key);
  }

  /** Enters the deliveries of one message in their queues, once the message's turn has come. */
  async enter(entries: readonly QueueEntry[], turn: KeyTurn, signal: AbortSignal): Promise<QueueState[]> {
    try {
      await turn.ready;
      const states = await Promise.all(
        entries.map((e) => this.#retry(() => enterKeyQueue(this.#o.pool, e), 'entering a key queue', signal)),
      );
      for (let i = 0; i < entries.length; i++) {
        if (states[i] !== 'parked') continue;
        this.#o.metrics.deliveriesParked.inc();
        this.emit('parked', { deliveryId: entries[i]!.deliveryId, endpointId: entries[i]!.endpointId });
      }
      return states;
    } finally {
      turn.done();
    }
  }

  /** The head `deliveryId` settled: releases the next delivery of its key, if any. */
  async settled(deliveryId: string, signal: AbortSignal): Promise<void> {
    const next = await this.#retry(() => releaseKeyQueue(this.#o.pool, deliveryId), 'releasing a key queue', signal);
    await this.#handOff(next, signal);
  }

  /** One repair pass (see webhooks.sweep_key_queues), and the parked gauge. */
  async sweep(signal: AbortSignal): Promise<void> {
    const { pool, metrics } = this.#o;
    const next = await sweepKeyQueues(pool, this.#o.handOffLeaseMs);
    if (next.length > 0) this.#o.logger.info({ deliveries: next.length }, 'key-queue sweep released deliveries');
    await this.#handOff(next, signal);
    metrics.parkedDeliveries.set(await countParked(pool));
  }

  /** Runs `sweep` every `intervalMs` (and once now). */
  startSweep(intervalMs: number): PeriodicJob {
    return startPeriodicJob({
      run: (signal) => this.sweep(signal),
      intervalMs,
      onError: (err) => this.#o.logger.warn({ err }, 'key-queue sweep failed'),
      runNow: true,
    });
  }

  async #handOff(next: readonly ReleasedDelivery[], signal: AbortSignal): Promise<void> {
    if (next.length === 0) return;
    const { producer, firstRetryTopic } = this.#o;
    const now = this.#now();
    await Promise.all(
      next.map((d) => {
        const task = { ...d, series: 1, attempt: 1, firstAttemptAtMs: now, dueAtMs: now, delayMs: 0, ordered: true };
        // Due at once but queued behind retries not yet due, like a redelivery: no lateness.
        const message = encodeTask(task, { redelivery: 'key-queue' });
        return this.#retry(() => producer.send(firstRetryTopic, message), 'handing off a released delivery', signal);
      }),
    );
    const ids = next.map((d) => d.deliveryId);
    await this.#retry(() => markHandedOff(this.#o.pool, ids), 'marking released deliveries', signal);
    for (const d of next) {
      this.#o.metrics.deliveriesReleased.inc();
      this.emit('released', { deliveryId: d.deliveryId, endpointId: d.endpointId });
    }
  }

  #retry<T>(fn: () => Promise<T>, what: string, signal: AbortSignal): Promise<T> {
    return withBackoff(fn, { signal, logger: this.#o.logger, observer: this.#o.backoffObserver, what });
  }
}
