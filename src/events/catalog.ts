import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import type { Logger } from 'pino';
import { InvalidEventError } from '../errors.ts';

/**
 * The event catalog, as data: the rows of `webhooks.event_types` (migration 0006), each with an
 * optional JSON Schema for the envelope's `data`. Admins extend it with SQL; the dispatcher keeps
 * a fresh copy (`EventCatalogCache`). There is no list of types in the code.
 */
export type EventType = string;

export interface EventTypeDefinition {
  name: string;
  description: string;
  /** JSON Schema for `data`; null: any object. */
  dataSchema: unknown;
  /** Example `data` for test events. */
  sampleData: Record<string, unknown>;
  /** Changes with every change of dataSchema: schemas compile once per version. */
  version: number;
}

const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;

// One ajv for the whole process: compiled validators are cached by (name, version) below, so a
// reload that did not change a schema compiles nothing.
function newAjv(): Ajv {
  return addFormats(new Ajv({ allErrors: false, strict: false }));
}

interface CompiledType {
  definition: EventTypeDefinition;
  validate: ValidateFunction | null;
}

/** One immutable version of the catalog. */
export class EventCatalog {
  static readonly empty = new EventCatalog(new Map());

  readonly #types: ReadonlyMap<string, CompiledType>;

  private constructor(types: ReadonlyMap<string, CompiledType>) {
    this.#types = types;
  }

  /**
   * Builds a catalog, reusing the compiled validators of `previous` whose version is unchanged.
   * A schema ajv cannot compile (the database's check is structural and lets through e.g. a bad
   * regular expression) is logged, and that type's data only has to be an object until it is fixed.
   */
  static from(definitions: readonly EventTypeDefinition[], logger?: Logger, previous: EventCatalog = EventCatalog.empty): EventCatalog {
    const ajv = previous.#ajv ?? newAjv();
    const types = new Map<string, CompiledType>();
    for (const definition of definitions) {
      const old = previous.#types.get(definition.name);
      if (old && old.definition.version === definition.version && sameJson(old.definition.dataSchema, definition.dataSchema)) {
        types.set(definition.name, { definition, validate: old.validate });
        continue;
      }
      let validate: ValidateFunction | null = null;
      if (definition.dataSchema !== null && definition.dataSchema !== undefined) {
        try {
          validate = ajv.compile(definition.dataSchema as object);
        } catch (err) {
          logger?.error(
            { err, eventType: definition.name },
            'event type schema does not compile; only an object is required until it is fixed',
          );
        }
      }
      types.set(definition.name, { definition, validate });
    }
    const catalog = new EventCatalog(types);
    catalog.#ajv = ajv;
    return catalog;
  }

  #ajv: Ajv | null = null;

  get size(): number {
    return this.#types.size;
  }

  has(name: string): boolean {
    return this.#types.has(name);
  }

  get(name: string): EventTypeDefinition | undefined {
    return this.#types.get(name)?.definition;
  }

  /** The type names, sorted. */
  names(): string[] {
    return [...this.#types.keys()].sort();
  }

  /**
   * Checks `data` of an event of type `name`. Throws `InvalidEventError`: unknown_type,
   * missing_field (a `required` property is absent) or invalid_data, with the path at fault.
   */
  check(name: string, data: Record<string, unknown>): void {
    const type = this.#types.get(name);
    if (!type) throw new InvalidEventError('unknown_type', `unknown event type ${JSON.stringify(name.slice(0, 100))}`);
    if (type.validate === null || type.validate(data)) return;
    const error = type.validate.errors?.[0];
    if (error?.keyword === 'required') {
      const field = String((error.params as { missingProperty?: unknown }).missingProperty);
      const at = error.instancePath.replaceAll('/', '.');
      throw new InvalidEventError('missing_field', `${name}: data${at}.${field} is required`);
    }
    const at = error ? error.instancePath.replaceAll('/', '.') : '';
    throw new InvalidEventError('invalid_data', `${name}: data${at} ${error?.message ?? 'does not match the schema'}`.slice(0, 300));
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
