import { UsageError } from '../errors.ts';

/**
 * Tracks the messages of one partition that are being processed out of order, and answers which
 * offset may be committed.
 *
 * Contract: offsets are `add`ed in increasing order (the order Kafka hands them out; gaps from
 * compaction or transaction markers are fine). The committable offset is the lowest offset still
 * in flight, or one past the highest offset added when nothing is in flight: committing it never
 * passes a message that is not settled.
 */
export class OffsetTracker {
  // Offsets in flight, in the order added. Settled ones are removed lazily from the front.
  #queue: bigint[] = [];
  #head = 0;
  #done = new Set<bigint>();
  #next: bigint | null = null;

  /** Number of offsets added and not yet completed. */
  get inFlight(): number {
    return this.#queue.length - this.#head - this.#done.size;
  }

  add(offset: bigint): void {
    if (this.#next !== null && offset < this.#next) {
      throw new UsageError(`offset ${offset} added after ${this.#next - 1n}: offsets must increase`);
    }
    this.#queue.push(offset);
    this.#next = offset + 1n;
  }

  complete(offset: bigint): void {
    if (this.#queue[this.#head] === offset) {
      this.#head++;
      while (this.#head < this.#queue.length && this.#done.delete(this.#queue[this.#head]!)) this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
    } else {
      this.#done.add(offset);
    }
  }

  /**
   * The offset to commit (Kafka's convention: the next offset to read), or null when nothing has
   * been added yet.
   */
  committable(): bigint | null {
    if (this.#head < this.#queue.length) return this.#queue[this.#head]!;
    return this.#next;
  }

  /** Forgets everything (the partition was revoked). */
  reset(): void {
    this.#queue = [];
    this.#head = 0;
    this.#done.clear();
    this.#next = null;
  }
}
