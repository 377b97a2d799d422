/**
 * The pure arithmetic of a replay: which offsets of which partitions it reads, how far along it
 * is, and how fast it may queue deliveries. Kept apart from Kafka so it is unit-tested alone.
 */

/** The offsets of one partition that a replay reads: `[start, end)`. */
export interface PartitionRange {
  topic: string;
  partition: number;
  start: number;
  /** Exclusive: the offset of `until`, or the high watermark taken when the replay began. */
  end: number;
  /**
   * The partition's earliest retained offset is where the replay starts and messages before it
   * were deleted: if its first message is newer than `since`, events since then are gone.
   */
  mayBeTruncated: boolean;
}

export interface PartitionOffsets {
  partition: number;
  offset: string;
}

export interface PartitionWatermarks {
  partition: number;
  low: string;
  high: string;
}

/**
 * The ranges of one topic. `fromSince` and `fromUntil` are the answers of
 * `fetchTopicOffsetsByTimestamp` (the first offset at or after the time, or the high watermark when
 * there is none); `fromUntil` is null when the replay runs up to the high watermark.
 */
export function planTopic(
  topic: string,
  watermarks: readonly PartitionWatermarks[],
  fromSince: readonly PartitionOffsets[],
  fromUntil: readonly PartitionOffsets[] | null,
): PartitionRange[] {
  const at = (list: readonly PartitionOffsets[], partition: number): number | undefined => {
    const found = list.find((p) => p.partition === partition);
    return found === undefined ? undefined : Number(found.offset);
  };
  return watermarks
    .map((w) => {
      const low = Number(w.low);
      const high = Number(w.high);
      // Clamped to what the partition holds: a time past its end answers the high watermark, and
      // an offset below the low watermark can no longer be read.
      const start = Math.min(high, Math.max(low, at(fromSince, w.partition) ?? high));
      const until = fromUntil === null ? high : (at(fromUntil, w.partition) ?? high);
      const end = Math.max(start, Math.min(high, until));
      return { topic, partition: w.partition, start, end, mayBeTruncated: low > 0 && start === low && end > start };
    })
    .sort((a, b) => a.partition - b.partition);
}

/** Offsets a replay has to read in all. */
export function totalOffsets(ranges: readonly PartitionRange[]): number {
  return ranges.reduce((sum, r) => sum + (r.end - r.start), 0);
}

export interface ProgressFigures {
  scanned: number;
  deliveries: number;
  /** Offsets read so far, of `totalOffsets`. */
  offsetsDone: number;
  totalOffsets: number;
  elapsedMs: number;
}

/** Offsets read per second so far, and the time left at that pace (null before there is a pace). */
export function pace(p: ProgressFigures): { offsetsPerSecond: number; etaMs: number | null } {
  const seconds = p.elapsedMs / 1000;
  const offsetsPerSecond = seconds > 0 ? p.offsetsDone / seconds : 0;
  const left = Math.max(0, p.totalOffsets - p.offsetsDone);
  if (left === 0) return { offsetsPerSecond, etaMs: 0 };
  return { offsetsPerSecond, etaMs: offsetsPerSecond > 0 ? Math.round((left / offsetsPerSecond) * 1000) : null };
}

/**
 * Spaces deliveries `1000 / ratePerSecond` ms apart: `wait(nowMs)` says how long to wait before
 * the next one and books its slot. A pause (nothing to deliver) earns no burst afterwards.
 */
export class Pacer {
  readonly #intervalMs: number;
  #nextMs = Number.NEGATIVE_INFINITY;

  constructor(ratePerSecond: number) {
    if (!(ratePerSecond > 0)) throw new RangeError(`rate must be positive, got ${ratePerSecond}`);
    this.#intervalMs = 1000 / ratePerSecond;
  }

  wait(nowMs: number): number {
    const slot = Math.max(this.#nextMs, nowMs);
    this.#nextMs = slot + this.#intervalMs;
    return slot - nowMs;
  }
}
