import type { Consumer } from 'kafkajs';
import type { Logger } from 'pino';
import type { OffsetTracker } from './offset-tracker.ts';

/** What this member knows of one assigned partition. */
export interface PartitionState {
  topic: string;
  partition: number;
  tracker: OffsetTracker;
  /** The last offset committed by this member, null before its first commit. */
  committed: bigint | null;
  /** Messages waiting for a free handler slot in this partition. */
  slotWaiters: Array<() => void>;
}

export type CommittedOffset = { topic: string; partition: number; offset: string };

/**
 * Commits settled positions for a PartitionConsumer. One commit request at a time; a commit never
 * moves a partition backwards, and a failed one is only logged (the next round tries again).
 */
export class OffsetCommitter {
  readonly #consumer: Consumer;
  readonly #logger: Logger;
  readonly #onCommitted: (offsets: CommittedOffset[]) => void;
  #committing: Promise<void> | null = null;

  constructor(consumer: Consumer, logger: Logger, onCommitted: (offsets: CommittedOffset[]) => void) {
    this.#consumer = consumer;
    this.#logger = logger;
    this.#onCommitted = onCommitted;
  }

  /** Commits every partition whose settled position moved since its last commit. */
  commitMoved(states: Iterable<PartitionState>): Promise<void> {
    if (this.#committing) return this.#committing;
    const moved: Array<{ state: PartitionState; value: bigint }> = [];
    for (const state of states) {
      const c = state.tracker.committable();
      if (c !== null && (state.committed === null || c > state.committed)) moved.push({ state, value: c });
    }
    if (moved.length === 0) return Promise.resolve();
    const offsets = moved.map(({ state, value }) => ({ topic: state.topic, partition: state.partition, offset: value.toString() }));
    this.#committing = this.#consumer
      .commitOffsets(offsets)
      .then(
        () => {
          for (const { state, value } of moved) if (state.committed === null || value > state.committed) state.committed = value;
          this.#onCommitted(offsets);
        },
        (err: unknown) => this.#logger.warn({ err }, 'offset commit failed; will retry'),
      )
      .finally(() => {
        this.#committing = null;
      });
    return this.#committing;
  }

  /**
   * Before pausing a partition at `offset`: a partition paused before this member committed
   * anything in it may never be fetched again after resume (kafkajs #1599), so commit its
   * position first. That never passes an unsettled message: it is the lowest in flight, or `offset`.
   */
  async commitBeforePause(state: PartitionState, offset: bigint): Promise<void> {
    const { topic, partition } = state;
    const position = state.tracker.committable();
    const safe = position === null || position > offset ? offset : position;
    if (state.committed !== null && state.committed >= safe) return;
    await this.#consumer.commitOffsets([{ topic, partition, offset: safe.toString() }]).then(
      () => {
        if (state.committed === null || state.committed < safe) state.committed = safe;
      },
      (err: unknown) => this.#logger.warn({ err, topic, partition }, 'commit before pause failed'),
    );
  }

  /** Resolves when the commit in progress, if any, is done. */
  async idle(): Promise<void> {
    await this.#committing;
  }
}
