/**
 * Decoding of Confluent wire-format events (magic byte 0, 4-byte big-endian schema id, payload)
 * through a Confluent-compatible schema registry, for Avro, JSON Schema and Protobuf.
 *
 * The schema is fetched here with undici rather than through `SchemaRegistry` from
 * `@kafkajs/confluent-schema-registry`, because that client hides what we must branch on: a
 * refused connection or a timeout surfaces as a `ResponseError` with status 400 (mappersmith's
 * client-error response), and the registry's `error_code` is dropped, so "unknown schema id"
 * (404/40403) cannot be told from "wrong base URL" (404 without a code). Its retry middleware
 * would also stretch one failing request to several seconds. The library still builds and
 * decodes Avro (avsc) and JSON Schema (ajv) schemas. Protobuf is parsed here with protobufjs
 * directly, because the library's parser renames fields to camelCase (`call_id` -> `callId`,
 * and its encode silently drops snake_case keys) and ignores Confluent's message indexes.
 *
 * Outcome contract (callers branch on the error class and `reason`, never on messages):
 * - the decoded value, as plain JSON-compatible data;
 * - `InvalidEventError('unknown_schema')`: the registry says the schema id (or a schema it
 *   references) does not exist (404 with error_code 40403, 40401 or 40402), or the id is not
 *   positive;
 * - `InvalidEventError('unsupported_schema')`: the registry has the schema but it cannot be
 *   used (unknown schema type, a schema the library cannot compile);
 * - `InvalidEventError('undecodable')`: the payload does not decode with its schema, or the
 *   value is not in wire format at all (callers should check `isWireFormat` first);
 * - `TransientError`: everything else: registry down, timed out, 5xx, and also any answer we
 *   cannot classify (401/403, 404 without a registry error code, a non-JSON body), since those
 *   mean a misconfiguration that must stall and alert rather than send good events to the
 *   invalid topic.
 */
import type protobuf from 'protobufjs';
import { request } from 'undici';
import type * as SchemaTypeResolver from '@kafkajs/confluent-schema-registry/dist/schemaTypeResolver.js';
import type { ConfluentSchema, ProtocolOptions, Schema } from '@kafkajs/confluent-schema-registry/dist/@types.js';
import { InvalidEventError, TransientError, WebhooksError } from '../errors.ts';
import type * as ProtobufPayload from './protobuf-payload.ts';

type Codecs = typeof SchemaTypeResolver & typeof ProtobufPayload;

let codecs: Promise<Codecs> | null = null;
/** Set once `codecs` has resolved: a loaded schema implies it. */
let loadedCodecs: Codecs | null = null;

/**
 * The schema libraries (avsc, protobufjs and the registry client's resolvers) are loaded with the
 * first schema this process needs, not at start: a JSON-only deployment never loads them (about
 * 20 MB of resident code and heap, `bench --only idle`).
 */
function loadCodecs(): Promise<Codecs> {
  codecs ??= Promise.all([import('@kafkajs/confluent-schema-registry/dist/schemaTypeResolver.js'), import('./protobuf-payload.ts')]).then(
    ([resolver, protobufPayload]) => (loadedCodecs = { ...resolver, ...protobufPayload }),
  );
  codecs.catch(() => (codecs = null));
  return codecs;
}

/** Length of the Confluent header: magic byte + 4-byte schema id. */
const HEADER_LENGTH = 5;
const MAGIC_BYTE = 0;

/** True when value starts with the Confluent wire-format magic byte 0 and is long enough to hold a schema id. */
export function isWireFormat(value: Uint8Array): boolean {
  return value.length >= HEADER_LENGTH && value[0] === MAGIC_BYTE;
}

export interface RegistryDecoderOptions {
  /** Base URL of the Confluent-compatible API, e.g. `http://127.0.0.1:8081/apis/ccompat/v7`. */
  url: string;
  username?: string;
  password?: string;
  /** per-request timeout, ms */
  timeoutMs: number;
}

export interface RegistryDecoder {
  /**
   * Decodes one wire-format value into plain JSON-compatible data. Schemas are cached by id for
   * the life of the decoder (a registered schema id never changes meaning); a cache miss costs
   * one registry request (plus one per schema reference), each bounded by `timeoutMs`.
   */
  decode(value: Buffer): Promise<unknown>;
}

/** Registry error codes (Confluent's, also used by Apicurio's ccompat API). */
const SUBJECT_NOT_FOUND = 40401;
const VERSION_NOT_FOUND = 40402;
const SCHEMA_NOT_FOUND = 40403;

/**
 * Ajv 7 (the library's JSON Schema validator) runs in strict mode by default and then refuses to
 * compile schemas with formats it does not know (`"format": "date-time"`) or annotation keywords
 * that schema generators add. A consumer must accept what the registry accepted, so validation
 * is lenient: unknown formats and keywords are ignored, and Ajv logs nothing.
 */
const SCHEMA_OPTIONS: ProtocolOptions = { JSON: { strict: false, logger: false } };

type LoadedSchema =
  | { kind: 'AVRO' | 'JSON'; schema: Schema }
  /** The .proto file's top-level message types, in declaration order (what message indexes count). */
  | { kind: 'PROTOBUF'; messages: protobuf.Type[] };
interface SchemaResponse {
  schema: string;
  schemaType?: string;
  references?: { name: string; subject: string; version: number }[];
}

/** A registry answer that is not 200, kept as the `cause` of the error we throw. */
class RegistryResponseError extends WebhooksError {
  override readonly code = 'WH_REGISTRY_RESPONSE';
  readonly status: number;
  readonly errorCode: number | undefined;
  constructor(url: string, status: number, errorCode: number | undefined, message: string | undefined) {
    super(`GET ${url}: HTTP ${status}${errorCode === undefined ? '' : ` error_code ${errorCode}`}${message ? `: ${message}` : ''}`);
    this.status = status;
    this.errorCode = errorCode;
  }
}

export function createRegistryDecoder(options: RegistryDecoderOptions): RegistryDecoder {
  // Credentials in the URL (https://user:pass@host/...) become the Authorization header and leave
  // the URL, which appears in error messages and so in log lines.
  const parsed = new URL(options.url);
  const username = options.username ?? (parsed.username === '' ? undefined : decodeURIComponent(parsed.username));
  const password = options.password ?? (parsed.password === '' ? undefined : decodeURIComponent(parsed.password));
  parsed.username = '';
  parsed.password = '';
  const baseUrl = parsed.toString().replace(/\/+$/, '');
  const headers: Record<string, string> = { accept: 'application/vnd.schemaregistry.v1+json, application/json' };
  if (username !== undefined) {
    const credentials = `${username}:${password ?? ''}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  // Settled schemas and in-flight loads share one map, so concurrent cache misses for the same id
  // make one request. Failed loads are removed so the next event asks again.
  const schemas = new Map<number, Promise<LoadedSchema>>();

  async function getJson(path: string): Promise<SchemaResponse> {
    const url = `${baseUrl}${path}`;
    let status: number;
    let text: string;
    try {
      const response = await request(url, {
        method: 'GET',
        headers,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      status = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      const what = isTimeout(error) ? `did not answer within ${options.timeoutMs} ms` : 'is unreachable';
      throw new TransientError(`schema registry ${what} (GET ${url})`, { cause: error });
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new TransientError(
        `schema registry answered HTTP ${status} with a body that is not JSON (GET ${url}); check the registry URL`,
        {
          cause: error,
        },
      );
    }
    if (status === 200 && isSchemaResponse(body)) return body;
    const errorCode = isRecord(body) && typeof body.error_code === 'number' ? body.error_code : undefined;
    const message = isRecord(body) && typeof body.message === 'string' ? body.message : undefined;
    throw new RegistryResponseError(url, status, errorCode, message);
  }

  async function loadSchema(id: number): Promise<LoadedSchema> {
    const { schemaTypeFromString, helperTypeFromSchemaType, compileProtobuf, schemaFromConfluentSchema } = await loadCodecs();
    let root: SchemaResponse;
    try {
      root = await getJson(`/schemas/ids/${id}`);
    } catch (error) {
      throw classifyResponseError(error, `schema id ${id}`);
    }
    // Confluent leaves schemaType out for Avro, the original (and default) type.
    const kind = schemaTypeFromString(root.schemaType ?? 'AVRO');
    if (kind !== 'AVRO' && kind !== 'JSON' && kind !== 'PROTOBUF') {
      throw new InvalidEventError('unsupported_schema', `schema id ${id} has unsupported type ${String(root.schemaType)}`);
    }
    const helper = helperTypeFromSchemaType(kind);
    const confluentSchema = helper.toConfluentSchema({ schemaType: kind, ...root });
    const referenced = await loadReferences(confluentSchema, id, new Set());
    try {
      if (kind === 'PROTOBUF') {
        return { kind, messages: compileProtobuf(confluentSchema.schema as string, referenced) };
      }
      const options = helper.updateOptionsFromSchemaReferences(referenced, SCHEMA_OPTIONS);
      return { kind, schema: schemaFromConfluentSchema(confluentSchema, options) };
    } catch (error) {
      throw new InvalidEventError('unsupported_schema', `schema id ${id} (${kind}) cannot be compiled`, {
        cause: error,
      });
    }
  }

  /** Referenced schemas, depth first, each after the schemas it references (as the library orders them). */
  async function loadReferences(schema: ConfluentSchema, id: number, seen: Set<string>): Promise<ConfluentSchema[]> {
    const { helperTypeFromSchemaType } = await loadCodecs();
    const result: ConfluentSchema[] = [];
    for (const reference of schema.references ?? []) {
      const key = `${reference.subject}\u0000${reference.version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      let found: SchemaResponse;
      try {
        const subject = encodeURIComponent(reference.subject);
        found = await getJson(`/subjects/${subject}/versions/${encodeURIComponent(String(reference.version))}`);
      } catch (error) {
        throw classifyResponseError(error, `schema id ${id} references ${reference.subject} version ${reference.version}`);
      }
      const referenced = helperTypeFromSchemaType(schema.type).toConfluentSchema({ schemaType: schema.type, ...found });
      result.push(...(await loadReferences(referenced, id, seen)), referenced);
    }
    return result;
  }

  function getSchema(id: number): Promise<LoadedSchema> {
    let loading = schemas.get(id);
    if (loading === undefined) {
      loading = loadSchema(id);
      schemas.set(id, loading);
      loading.catch(() => schemas.delete(id));
    }
    return loading;
  }

  return {
    async decode(value) {
      if (!isWireFormat(value)) {
        throw new InvalidEventError('undecodable', 'value is not in Confluent wire format (magic byte 0 + schema id)');
      }
      const id = value.readInt32BE(1);
      if (id <= 0) throw new InvalidEventError('unknown_schema', `schema id ${id} cannot exist`);
      const loaded = await getSchema(id);
      const payload = value.subarray(HEADER_LENGTH);
      const { decodeProtobuf, toPlain } = loadedCodecs!;
      try {
        return loaded.kind === 'PROTOBUF' ? decodeProtobuf(loaded.messages, payload) : toPlain(loaded.schema.fromBuffer(payload));
      } catch (error) {
        throw new InvalidEventError('undecodable', `payload does not decode with ${loaded.kind} schema id ${id}`, {
          cause: error,
        });
      }
    },
  };
}

function classifyResponseError(error: unknown, what: string): Error {
  if (!(error instanceof RegistryResponseError)) return error instanceof Error ? error : new TransientError(String(error));
  const { status, errorCode } = error;
  if (status === 404 && (errorCode === SCHEMA_NOT_FOUND || errorCode === SUBJECT_NOT_FOUND || errorCode === VERSION_NOT_FOUND)) {
    return new InvalidEventError('unknown_schema', `${what}: the registry does not have it (error_code ${errorCode})`, {
      cause: error,
    });
  }
  const hint = status >= 500 || status === 408 || status === 429 ? '' : '; check the registry URL and credentials';
  return new TransientError(`schema registry answered HTTP ${status} for ${what}${hint}`, { cause: error });
}

function isTimeout(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'TimeoutError';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSchemaResponse(value: unknown): value is SchemaResponse {
  return isRecord(value) && typeof value.schema === 'string';
}
