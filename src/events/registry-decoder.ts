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
import protobuf from 'protobufjs';
import { request } from 'undici';
import {
  helperTypeFromSchemaType,
  schemaFromConfluentSchema,
  schemaTypeFromString,
} from '@kafkajs/confluent-schema-registry/dist/schemaTypeResolver.js';
import type { ConfluentSchema, ProtocolOptions, Schema } from '@kafkajs/confluent-schema-registry/dist/@types.js';
import { InvalidEventError, TransientError, WebhooksError } from '../errors.ts';

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

// ---- Protobuf -----------------------------------------------------------------------------------

/** Field names as written in the .proto file (protobufjs would camelCase them). */
const PROTO_PARSE = { keepCase: true };
/** protobufjs conversion to the proto3 JSON mapping's shapes: enums by name, bytes as base64. */
const PROTO_TO_OBJECT = { enums: String, bytes: String, defaults: true, arrays: true, objects: true, json: true };

/**
 * Parses the schema and its references into one root and returns the schema's own top-level
 * messages. Imports of well-known types (google/protobuf/timestamp.proto ...) are served from
 * protobufjs's bundled copies, since registries do not store them as references.
 */
function compileProtobuf(text: string, referenced: ConfluentSchema[]): protobuf.Type[] {
  const root = new protobuf.Root();
  const parsed = protobuf.parse(text, root, PROTO_PARSE);
  const scope = parsed.package === undefined ? root : root.lookup(parsed.package);
  // Taken before the references are parsed: they may add types to the same package.
  const messages = scope instanceof protobuf.Namespace ? scope.nestedArray.filter(isMessageType) : [];
  if (messages.length === 0) throw new Error('the schema declares no message type');
  const imports = [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])];
  for (const reference of referenced) {
    const parsedReference = protobuf.parse(reference.schema as string, root, PROTO_PARSE);
    imports.push(...(parsedReference.imports ?? []), ...(parsedReference.weakImports ?? []));
  }
  for (const file of new Set(imports)) {
    const wellKnown = protobuf.common.get(file);
    if (wellKnown?.nested !== undefined) root.addJSON(wellKnown.nested);
  }
  root.resolveAll();
  return messages;
}

/**
 * Confluent's Protobuf framing puts "message indexes" before the payload: a zigzag varint count,
 * then that many zigzag varint indexes locating the message type in the .proto file (first
 * top-level message = [0], written as the single byte 0). The library's own `encode` writes no
 * indexes. A payload's first byte is a field tag (field number >= 1, so >= 0x08), while an index
 * count of 0..3 encodes as 0x00..0x06, so the first byte tells which framing was used.
 * Limitation: for nested messages the index counts protobufjs's nested types, which (unlike a
 * protoc descriptor) do not include the synthetic entry types of map fields.
 */
function decodeProtobuf(messages: protobuf.Type[], payload: Buffer): unknown {
  let type = messages[0] as protobuf.Type;
  let offset = 0;
  if (payload.length > 0 && (payload[0] ?? 0) < 0x08) {
    let count: number;
    [count, offset] = readZigzagVarint(payload, 0);
    const indexes: number[] = [];
    for (let i = 0; i < count; i++) {
      let index: number;
      [index, offset] = readZigzagVarint(payload, offset);
      indexes.push(index);
    }
    type = resolveMessageType(messages, count === 0 ? [0] : indexes);
  }
  const message = type.decode(payload.subarray(offset));
  return toPlain(type.toObject(message, PROTO_TO_OBJECT));
}

function readZigzagVarint(buffer: Buffer, start: number): [number, number] {
  let raw = 0;
  let offset = start;
  for (let shift = 0; ; shift += 7) {
    if (shift > 28) throw new RangeError('message index varint is too long');
    const byte = buffer[offset++];
    if (byte === undefined) throw new RangeError('message indexes run past the end of the payload');
    raw |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
  }
  return [(raw >>> 1) ^ -(raw & 1), offset];
}

function resolveMessageType(topLevel: protobuf.Type[], indexes: number[]): protobuf.Type {
  let candidates = topLevel;
  let type: protobuf.Type | undefined;
  for (const index of indexes) {
    type = candidates[index];
    if (type === undefined) throw new RangeError(`message index path [${indexes.join(', ')}] names no message type`);
    candidates = type.nestedArray.filter(isMessageType);
  }
  if (type === undefined) throw new RangeError('empty message index path');
  return type;
}

function isMessageType(reflection: protobuf.ReflectionObject): reflection is protobuf.Type {
  return reflection instanceof protobuf.Type;
}

// ---- Conversion to plain data -------------------------------------------------------------------

/**
 * Turns decoder output into plain JSON-compatible data: avsc record instances become plain
 * objects, bytes (Buffer/Uint8Array) become base64 strings, 64-bit integers (Long objects or
 * bigints) become numbers when they are safe integers and decimal strings otherwise, and
 * non-finite floats become the strings "NaN", "Infinity", "-Infinity" (as the proto3 JSON mapping).
 */
function toPlain(value: unknown): unknown {
  switch (typeof value) {
    case 'bigint':
      return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'object': {
      if (value === null) return null;
      if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
      if (Array.isArray(value)) return value.map(toPlain);
      if (isLong(value)) {
        const text = value.toString();
        return Number.isSafeInteger(Number(text)) ? Number(text) : text;
      }
      const plain: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        if (item !== undefined) plain[key] = toPlain(item);
      }
      return plain;
    }
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    default:
      return value;
  }
}

/** A long.js `Long`, as protobufjs returns for 64-bit fields. */
function isLong(value: object): value is { toString(): string } {
  const candidate = value as { low?: unknown; high?: unknown; unsigned?: unknown };
  return typeof candidate.low === 'number' && typeof candidate.high === 'number' && typeof candidate.unsigned === 'boolean';
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
