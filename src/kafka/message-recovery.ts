import type { EventEmitter } from 'node:events';
import { retryingAfter } from '../util/backoff.ts';
import type { ConsumedMessage, PartitionConsumerEvents, PartitionConsumerOptions } from './partition-consumer-options.ts';

type RecoveryOptions = Pick<PartitionConsumerOptions, 'handle' | 'classify' | 'quarantine' | 'maxUnclassifiedAttempts' | 'logger'> &
  Required<Pick<PartitionConsumerOptions, 'handlerBackoff'>>;

/**
 * After a handler's first failure (`first`): tries the message again with backoff as `classify`
 * allows, then quarantines it. True once the message is settled either way; false when it stays
 * unsettled (aborted by a stop or a rejoin, or not even quarantined), so it is read again.
 * `signal` is passed to the handler; `retrySignal` ends the retries (stopping, rejoining).
 */
export async function recoverMessage(
  events: EventEmitter<PartitionConsumerEvents>,
  o: RecoveryOptions,
  message: ConsumedMessage,
  { signal, retrySignal }: { signal: AbortSignal; retrySignal: AbortSignal },
  first: unknown,
): Promise<boolean> {
  const { topic, partition } = message;
  const log = o.logger;
  let unknown = 0;
  try {
    try {
      // The first try is the failure already seen, so it is judged and logged like any other.
      await retryingAfter(first, () => o.handle(message, signal), {
        ...o.handlerBackoff,
        // Once stopping or rejoining, a failing message waits no more: it stays unsettled.
        signal: retrySignal,
        retryable: (error, failures) => {
          const kind = o.classify(error);
          if (kind === 'unknown') unknown++;
          const willRetry = kind === 'transient' || (kind === 'unknown' && unknown < o.maxUnclassifiedAttempts);
          events.emit('handlerFailed', { message, error, kind, failures, willRetry });
          return willRetry;
        },
        onRetry: ({ error, failures, delayMs }) =>
          log.error(
            { err: error, topic, partition, offset: message.offset, failures, retryInMs: delayMs },
            'message handler failed; retrying',
          ),
      });
    } catch (error) {
      if (retrySignal.aborted || signal.aborted) throw error;
      log.error({ err: error, topic, partition, offset: message.offset }, 'message handler failed for good; quarantining the message');
      await o.quarantine(message, error, signal);
      events.emit('quarantined', { message, error });
    }
  } catch (err) {
    // Aborted (stop, rejoin) or not even quarantined: left unsettled, so not committed and read again.
    if (!signal.aborted && !retrySignal.aborted) log.error({ err, topic, partition, offset: message.offset }, 'quarantine failed');
    return false;
  }
  return true;
}
