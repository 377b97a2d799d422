// Protobuf payloads of Confluent wire-format events, and the conversion of every decoder's output
// to plain JSON-compatible data. Used by registry-decoder.ts; errors thrown here are caught there
// and become InvalidEventError('undecodable') or ('unsupported_schema').
import protobuf from 'protobufjs';
import type { ConfluentSchema } from '@kafkajs/confluent-schema-registry/dist/@types.js';

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
export function compileProtobuf(text: string, referenced: ConfluentSchema[]): protobuf.Type[] {
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
export function decodeProtobuf(messages: protobuf.Type[], payload: Buffer): unknown {
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
export function toPlain(value: unknown): unknown {
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
