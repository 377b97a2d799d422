import type { Admin } from 'kafkajs';
import type { Logger } from 'pino';
import type { Gauge } from 'prom-client';

export interface LagPollerOptions {
  /** A connected kafkajs admin client; the caller connects and disconnects it. */
  admin: Admin;
  /** The consumer groups to watch and the topics each consumes. */
  groups: Array<{ groupId: string; topics: string[] }>;
  /** Time between two polls, ms. */
  intervalMs: number;
  /** `webhooks_consumer_lag_messages{group,topic}`. */
  gauge: Gauge<'group' | 'topic'>;
  logger: Logger;
  /** Aborting it stops the poller. */
  signal?: AbortSignal;
}

export interface LagPoller extends AsyncDisposable {
  /** Stops polling and waits for a poll under way; safe to call more than once. */
  stop(): Promise<void>;
  /** Polls now; resolves to the lag by `lagKey(group, topic)`, the kept value where a read failed. */
  pollOnce(): Promise<Map<string, number>>;
}

/** The key of `pollOnce()`'s map. Topic names cannot contain `:`, so the last one splits it. */
export function lagKey(groupId: string, topic: string): string {
  return `${groupId}:${topic}`;
}

/**
 * Reads each group's committed offsets and each topic's watermarks from the broker every
 * `intervalMs` and sets the lag gauge: per partition `high - max(committed, low)` (a partition
 * with no commit, or one whose commit fell below the retention boundary, counts from `low`),
 * summed per (group, topic). Reading from the broker, not from the consumer, means a stalled or
 * dead consumer shows as growing lag instead of silence. Each running replica reports the same
 * numbers: aggregate with `max`, not `sum`. A failed read is logged and the previous value kept.
 */
export function startLagPoller(options: LagPollerOptions): LagPoller {
  const { admin, groups, intervalMs, gauge, logger } = options;
  const last = new Map<string, number>();

  type Watermarks = Array<{ partition: number; high: string; low: string }>;

  // One request per (group, topic), so a topic that cannot be read does not hide the others.
  const pollTopic = async (
    groupId: string,
    topic: string,
    watermarks: Map<string, Promise<Watermarks>>,
    readMarks: (topic: string) => Promise<Watermarks>,
  ): Promise<void> => {
    let marks = watermarks.get(topic);
    if (marks === undefined) {
      marks = readMarks(topic);
      // Several groups may read the same topic in one poll; each handles the rejection itself.
      marks.catch(() => undefined);
      watermarks.set(topic, marks);
    }
    // allSettled: a poll (and so stop()) ends only when no admin request of it is left running.
    const [offsets, watermarksRead] = await Promise.allSettled([admin.fetchOffsets({ groupId, topics: [topic] }), marks]);
    try {
      if (offsets.status === 'rejected') throw offsets.reason;
      if (watermarksRead.status === 'rejected') throw watermarksRead.reason;
      const partitions = watermarksRead.value;
      const committed = new Map((offsets.value[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      let lag = 0;
      for (const p of partitions) {
        const low = Number(p.low);
        lag += Math.max(0, Number(p.high) - Math.max(committed.get(p.partition) ?? -1, low));
      }
      last.set(lagKey(groupId, topic), lag);
      gauge.set({ group: groupId, topic }, lag);
    } catch (err) {
      logger.warn({ err, groupId, topic }, 'could not read consumer lag; keeping the last value');
    }
  };

  let inFlight: Promise<Map<string, number>> | null = null;
  const pollOnce = (): Promise<Map<string, number>> => {
    // Polls never overlap: a caller during a poll gets that poll's result.
    inFlight ??= (async () => {
      try {
        const watermarks = new Map<string, Promise<Watermarks>>();
        // Watermarks are read one topic at a time. kafkajs 2.2.4 adds a topic to the client's
        // metadata targets before reading it and refreshes metadata outside its lock, so while a
        // missing topic is being added a concurrent read of another topic asks for the missing
        // one too and fails with it: one unreadable topic hid the others.
        let previous: Promise<unknown> = Promise.resolve();
        const readMarks = (topic: string): Promise<Watermarks> => {
          const read = previous.then(() => admin.fetchTopicOffsets(topic));
          previous = read.catch(() => undefined);
          return read;
        };
        await Promise.all(groups.flatMap((g) => g.topics.map((topic) => pollTopic(g.groupId, topic, watermarks, readMarks))));
        return new Map(last);
      } finally {
        inFlight = null;
      }
    })();
    return inFlight;
  };

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const loop = async (): Promise<void> => {
    await pollOnce();
    if (!stopped) {
      timer = setTimeout(() => void loop(), intervalMs);
      timer.unref();
    }
  };

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopped = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      await inFlight?.catch(() => undefined);
    })();
    return stopping;
  };
  const onAbort = (): void => void stop();

  if (options.signal?.aborted) {
    void stop();
  } else {
    options.signal?.addEventListener('abort', onAbort, { once: true });
    void loop();
  }

  return { stop, pollOnce, [Symbol.asyncDispose]: stop };
}
