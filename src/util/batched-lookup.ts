/**
 * Lookups by id made within `lingerMs` of each other share one query for their distinct ids, as
 * the retry path needs: a delay topic hands over its due tasks in bursts (a hung endpoint's come
 * back hundreds at a time), and a query each would cost a round trip and a plan per task. A
 * failed query fails every lookup that shared it (each caller retries on its own).
 */
export class BatchedLookup<V> {
  readonly #query: (ids: string[]) => Promise<Map<string, V>>;
  readonly #lingerMs: number;
  #pending: Array<{ ids: readonly string[]; resolve: (m: Map<string, V>) => void; reject: (e: unknown) => void }> = [];
  #timer: NodeJS.Timeout | null = null;

  /** `query` answers for the ids it is given; an id missing from its map was not found. */
  constructor(query: (ids: string[]) => Promise<Map<string, V>>, options: { lingerMs?: number } = {}) {
    this.#query = query;
    this.#lingerMs = options.lingerMs ?? 1;
  }

  /** The found values of `ids`, by id. */
  find(ids: readonly string[]): Promise<Map<string, V>> {
    if (ids.length === 0) return Promise.resolve(new Map());
    return new Promise((resolve, reject) => {
      this.#pending.push({ ids: [...ids], resolve, reject });
      if (this.#timer === null) this.#timer = setTimeout(() => void this.#run(), this.#lingerMs);
    });
  }

  async #run(): Promise<void> {
    this.#timer = null;
    const batch = this.#pending.splice(0);
    try {
      const found = await this.#query([...new Set(batch.flatMap((b) => b.ids))]);
      for (const b of batch) {
        const m = new Map<string, V>();
        for (const id of b.ids) {
          const f = found.get(id);
          if (f !== undefined) m.set(id, f);
        }
        b.resolve(m);
      }
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  }
}
