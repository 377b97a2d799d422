/** A message's place among the messages of its key in its partition, taken in arrival order. */
export interface KeyTurn {
  /** Resolves once every earlier message of the key has had its turn. */
  readonly ready: Promise<void>;
  /** Ends this message's turn (safe to call twice). */
  done(): void;
}

/**
 * Orders the key-queue entries of one dispatcher. Messages of a partition are handled
 * concurrently, so a later message of a key could otherwise reach its queue first and be sent
 * ahead of an earlier one. Each turn is taken synchronously when the handler starts (the consumer
 * starts handlers in offset order) and ends once the message's entries are made; the next
 * message of the key waits for it. Only the entry waits: attempts to other endpoints do not.
 */
export class KeyTurns {
  readonly #tails = new Map<string, Promise<void>>();

  take(topic: string, partition: number, key: Buffer): KeyTurn {
    const id = `${topic}\u0000${partition}\u0000${key.toString('base64')}`;
    const ready = this.#tails.get(id) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    // A turn ended early still waits for those before it, so the line never reorders.
    const tail = ready.then(() => mine);
    this.#tails.set(id, tail);
    void tail.then(() => {
      if (this.#tails.get(id) === tail) this.#tails.delete(id);
    });
    return { ready, done };
  }

  /** Keys with a turn taken and not ended (for tests). */
  get size(): number {
    return this.#tails.size;
  }
}
