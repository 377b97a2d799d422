import type { IHeaders, Kafka, Producer } from 'kafkajs';
import { TransientError } from '../errors.ts';
import { keyPartitioner } from './key-partitioner.ts';

/** True when the broker refused a message for its size (MESSAGE_TOO_LARGE), through any wrapping. */
export function isMessageTooLarge(err: unknown): boolean {
  for (let e = err as { type?: unknown; cause?: unknown; errors?: unknown[] } | undefined, depth = 0; e && depth < 6; depth++) {
    if (e.type === 'MESSAGE_TOO_LARGE') return true;
    e = (e.cause ?? e.errors?.[0]) as typeof e;
  }
  return false;
}

export interface OutgoingMessage {
  key: string | null;
  value: Buffer;
  headers: IHeaders;
}

const MAX_REQUEST_BYTES = 512 * 1024;

interface Queued {
  topic: string;
  message: OutgoingMessage;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Produces to the service's own topics (delay, dead-letter, invalid) with acks from all in-sync
 * replicas. Sends made within `lingerMs` travel in one request. `send()` resolves only once the
 * broker has acknowledged, which is what lets the caller settle the source offset.
 */
export class TopicProducer {
  readonly #producer: Producer;
  readonly #lingerMs: number;
  #queue: Queued[] = [];
  #timer: NodeJS.Timeout | null = null;
  #connected = false;

  constructor(kafka: Kafka, options: { lingerMs?: number } = {}) {
    // kafkajs's own partition for each key, without its Long arithmetic (see keyPartitioner).
    this.#producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 5 }, createPartitioner: keyPartitioner });
    this.#lingerMs = options.lingerMs ?? 2;
  }

  async connect(): Promise<void> {
    await this.#producer.connect();
    this.#connected = true;
  }

  send(topic: string, message: OutgoingMessage): Promise<void> {
    if (!this.#connected) return Promise.reject(new TransientError('producer is not connected'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ topic, message, resolve, reject });
      this.#timer ??= setTimeout(() => this.#flush(), this.#lingerMs);
    });
  }

  #flush(): void {
    this.#timer = null;
    const batch = this.#queue.splice(0);
    if (batch.length === 0) return;
    // Keep each request well under the broker's default 1 MiB batch limit; a larger message goes alone.
    let chunk: Queued[] = [];
    let bytes = 0;
    for (const q of batch) {
      const size = q.message.value.length + 256;
      if (chunk.length > 0 && bytes + size > MAX_REQUEST_BYTES) {
        this.#sendChunk(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(q);
      bytes += size;
    }
    this.#sendChunk(chunk);
  }

  #sendChunk(batch: Queued[]): void {
    const byTopic = new Map<string, OutgoingMessage[]>();
    for (const q of batch) {
      let list = byTopic.get(q.topic);
      if (!list) byTopic.set(q.topic, (list = []));
      list.push(q.message);
    }
    this.#producer
      .sendBatch({
        acks: -1,
        timeout: 30_000,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      })
      .then(
        () => {
          for (const q of batch) q.resolve();
        },
        (err: unknown) => {
          const e = new TransientError(`producing to ${[...byTopic.keys()].join(', ')} failed`, { cause: err });
          for (const q of batch) q.reject(e);
        },
      );
  }

  async disconnect(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#flush();
    }
    this.#connected = false;
    await this.#producer.disconnect();
  }
}
