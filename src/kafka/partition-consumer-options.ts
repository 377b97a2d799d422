import type { IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import type { BackoffPolicy } from '../util/backoff.ts';
import type { ErrorKind } from '../util/error-kind.ts';
import type { CommittedOffset } from './offset-committer.ts';

/** A message as handlers see it; kafkajs types stay inside `src/kafka/`. */
export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders | undefined;
  /** Broker/producer timestamp, ms since the epoch. */
  timestampMs: number;
}

export function consumedMessage(topic: string, partition: number, m: KafkaMessage): ConsumedMessage {
  return { topic, partition, offset: m.offset, key: m.key, value: m.value, headers: m.headers, timestampMs: Number(m.timestamp) };
}

export interface PartitionConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: readonly string[];
  /** Where a group with no committed offset starts: true for the earliest message. */
  fromBeginning: boolean;
  /** Messages of one partition handled at once. */
  concurrency: number;
  /**
   * Settles one message: resolves once everything it caused is durable. If it rejects, `classify`
   * decides: transient errors are tried again after a backoff for as long as they last, unknown
   * ones up to `maxUnclassifiedAttempts` times, and then (or at once for a permanent error) the
   * message is handed to `quarantine`. `signal` aborts on a forced shutdown and before a rejoin:
   * the message then stays unsettled and is read again (by whichever member owns it next).
   */
  handle: (message: ConsumedMessage, signal: AbortSignal) => Promise<void>;
  /** How a handler's error is treated (see ErrorKind). */
  classify: (error: unknown) => ErrorKind;
  /**
   * Takes a message that cannot be handled out of the way (e.g. to an invalid topic) and resolves
   * once that is durable; its offset then counts as settled. It should retry its own transient
   * failures; if it rejects, the message stays unsettled until the next restart or rebalance.
   */
  quarantine: (message: ConsumedMessage, error: unknown, signal: AbortSignal) => Promise<void>;
  /** Tries of a message failing with an unknown error before it is quarantined. */
  maxUnclassifiedAttempts: number;
  /**
   * Asked before each message is admitted: how many ms it must still wait before its handler may
   * start (0 or less: now). A message that must wait at most `holdMs` is admitted and held in
   * memory (its slot taken, its offset not committable) until then; one that must wait longer, or
   * finds its partition's slots all taken, pauses its partition at it (nothing after it is admitted
   * either) until `resume()` is called for it, and the `deferred` event says which message waits
   * and when to resume. The owner decides when to resume (a delay consumer: on time for the
   * message to be held again, or due).
   */
  dueIn?: (message: ConsumedMessage) => number;
  /** The longest a message `dueIn` holds back is held in memory instead of paused at, ms. Default 0 (always paused). */
  holdMs?: number;
  /** How often settled offsets are committed, ms. Default 200. */
  commitIntervalMs?: number;
  /**
   * Most bytes one fetch reads of a partition (kafkajs `maxBytesPerPartition`; the broker still
   * returns a first record batch larger than this whole). Default 256 KiB.
   */
  maxBytesPerPartition?: number;
  /** Most bytes one fetch response holds over all partitions (kafkajs `maxBytes`). Default 2 MiB. */
  maxBytes?: number;
  /** Waits between tries of a failing handler. Default DEPENDENCY_BACKOFF. */
  handlerBackoff?: BackoffPolicy;
  /**
   * Before a rejoin, how long in-flight messages may take to settle before they are aborted, ms.
   * Keep it well under the session timeout (30 s). Default 10000.
   */
  rebalanceDrainMs?: number;
  logger: Logger;
}

export interface PartitionConsumerEvents {
  /** The group was (re)joined; `partitions` is this member's assignment. */
  joined: [{ partitions: Array<{ topic: string; partition: number }> }];
  /**
   * This member is about to rejoin its group: in-flight work has settled (`drained`) or was
   * aborted (`aborted` messages, read again later), and what settled is committed.
   */
  rebalancing: [{ drained: number; aborted: number }];
  committed: [CommittedOffset[]];
  /**
   * A partition was paused at `message` because `dueIn` held it back: resume it in `resumeInMs`
   * (when it can be held, or when it is due if the partition's slots were all taken).
   */
  deferred: [{ message: ConsumedMessage; resumeInMs: number }];
  /** A handler failed; `willRetry` false means the message goes to `quarantine`. */
  handlerFailed: [{ message: ConsumedMessage; error: unknown; kind: ErrorKind; failures: number; willRetry: boolean }];
  /** A message was quarantined (see `quarantine`). */
  quarantined: [{ message: ConsumedMessage; error: unknown }];
  /** kafkajs gave up: the consumer stopped for good (the process should exit). */
  crashed: [{ error: Error }];
}
