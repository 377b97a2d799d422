import type { Logger } from 'pino';
import { HandlerFailedError, InvalidEventError } from '../errors.ts';
import type { ConsumedMessage } from '../kafka/partition-consumer.ts';
import { isMessageTooLarge, type TopicProducer } from '../kafka/topic-producer.ts';
import { withBackoff, type BackoffObserver } from './with-backoff.ts';

const INVALID_HEAD_BYTES = 64 * 1024;

/**
 * Copies a message that can never be processed to the invalid topic: its key, value and headers,
 * plus where it was read and why it is refused (`error-code`, `error-reason`, `error-message`).
 * Resolves once the broker acknowledged it, so the source offset may then be committed.
 */
export async function sendToInvalidTopic(
  to: { producer: TopicProducer; topic: string; logger: Logger; observer?: BackoffObserver | undefined },
  message: ConsumedMessage,
  err: { code: string; reason: string; message: string },
  signal: AbortSignal,
): Promise<void> {
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
        await to.producer.send(to.topic, { key, value, headers });
      } catch (err) {
        if (!isMessageTooLarge(err)) throw err;
        // Larger than even the invalid topic takes: keep its head, say how large it was.
        await to.producer.send(to.topic, {
          key,
          value: value.subarray(0, INVALID_HEAD_BYTES),
          headers: { ...headers, 'value-truncated-from-bytes': String(value.length) },
        });
      }
    },
    { signal, logger: to.logger, observer: to.observer, what: 'sending an event to the invalid topic' },
  );
}

/** What goes to the invalid topic for `error`: the poison's own reason, else `handler_failed`. */
export function quarantineReason(error: unknown): InvalidEventError | HandlerFailedError {
  if (error instanceof InvalidEventError || error instanceof HandlerFailedError) return error;
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new HandlerFailedError(`handling failed: ${text}`, { cause: error });
}
