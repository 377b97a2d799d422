import { ALL_EVENT_TYPES, type Endpoint } from './endpoint.ts';
import { compileFilter, type EnvelopeLike, type FilterPredicate } from './payload-filter.ts';

// A stored filter always compiles (the trigger of migration 0007 refuses what compileFilter
// refuses); if one ever did not, its endpoint receives nothing rather than everything.
const NOTHING: FilterPredicate = () => false;

const NONE: readonly Endpoint[] = Object.freeze([]);

/**
 * An immutable index of the enabled endpoints by event type. Everything is computed when it is
 * built, so `match()` on the per-event hot path is one map lookup that allocates nothing; a
 * reload builds a new index and swaps it in whole.
 *
 * Order is stable: the order of the list it was built from (the store orders by creation time),
 * for every type. Disabled endpoints and repeated ids (after the first) are left out.
 */
export class EndpointIndex {
  readonly #byType: ReadonlyMap<string, readonly Endpoint[]>;
  readonly #wildcard: readonly Endpoint[];
  readonly #byId: ReadonlyMap<string, Endpoint>;
  readonly #all: readonly Endpoint[];
  readonly #filters: ReadonlyMap<string, FilterPredicate>;
  /** Number of endpoints with `per_key` ordering (the hot path skips the key queue when 0). */
  readonly ordered: number;

  /** An index with no endpoints, for before the first load. */
  static readonly empty: EndpointIndex = new EndpointIndex([]);

  constructor(endpoints: Iterable<Endpoint>) {
    const byId = new Map<string, Endpoint>();
    for (const endpoint of endpoints) {
      if (endpoint.enabled && !byId.has(endpoint.id)) byId.set(endpoint.id, endpoint);
    }
    const all = [...byId.values()];

    const types = new Set<string>();
    for (const endpoint of all) {
      for (const type of endpoint.eventTypes) {
        if (type !== ALL_EVENT_TYPES) types.add(type);
      }
    }

    const wildcard: Endpoint[] = [];
    const byType = new Map<string, Endpoint[]>();
    for (const type of types) byType.set(type, []);
    for (const endpoint of all) {
      // One pass per endpoint over the known types keeps each list in input order and puts an
      // endpoint in a list at most once, however often it names the type or '*'.
      const everything = endpoint.eventTypes.includes(ALL_EVENT_TYPES);
      if (everything) wildcard.push(endpoint);
      for (const [type, list] of byType) {
        if (everything || endpoint.eventTypes.includes(type)) list.push(endpoint);
      }
    }

    const frozen = new Map<string, readonly Endpoint[]>();
    for (const [type, list] of byType) frozen.set(type, Object.freeze(list));
    this.#byType = frozen;
    this.#wildcard = wildcard.length === 0 ? NONE : Object.freeze(wildcard);
    this.#byId = byId;
    this.#all = Object.freeze(all);
    this.ordered = all.filter((e) => e.ordering === 'per_key').length;
    const filters = new Map<string, FilterPredicate>();
    for (const endpoint of all) {
      if (endpoint.filter === undefined || endpoint.filter === null) continue;
      try {
        filters.set(endpoint.id, compileFilter(endpoint.filter));
      } catch {
        filters.set(endpoint.id, NOTHING);
      }
    }
    this.#filters = filters;
  }

  /** True when the endpoint has a payload filter. */
  hasFilter(endpoint: Endpoint): boolean {
    return this.#filters.has(endpoint.id);
  }

  /** False when the endpoint's payload filter excludes the event (true without a filter). */
  accepts(endpoint: Endpoint, envelope: EnvelopeLike): boolean {
    const filter = this.#filters.get(endpoint.id);
    return filter === undefined || filter(envelope);
  }

  /** Number of endpoints with a payload filter (the hot path skips filtering when 0). */
  get filtered(): number {
    return this.#filters.size;
  }

  /**
   * The endpoints to deliver an event of `eventType` to: those subscribed to it or to `*`, each
   * once. A type no endpoint names gets the `*` subscribers. The array is shared: do not mutate.
   */
  match(eventType: string): readonly Endpoint[] {
    return this.#byType.get(eventType) ?? this.#wildcard;
  }

  /** The enabled endpoint with this id, if any. */
  get(id: string): Endpoint | undefined {
    return this.#byId.get(id);
  }

  /** Number of (enabled) endpoints in the index. */
  get size(): number {
    return this.#byId.size;
  }

  /** Every endpoint in the index, in build order. */
  get endpoints(): readonly Endpoint[] {
    return this.#all;
  }
}
