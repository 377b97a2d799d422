/**
 * Array parameters in Postgres's binary format (what `array_send` writes and `array_recv` reads)
 * for the batched hot-path statements (the delivery claim, the delivery-log flush). node-postgres
 * sends a Buffer parameter as binary, so Postgres reads each element with its type's receive
 * function, a copy of its bytes, instead of scanning an array literal and parsing each element's
 * text (`array_in`, then `uuid_in`, `timestamptz_in`, bytea's hex…): with ~40 elements per
 * delivery, that parsing was 12–14 % of the backends' time in session 22's profile and a uuid or a
 * hex digest 0.7–0.9 µs per element (docs/benchmark.md, "Postgres per delivery", sessions 22–24).
 *
 * A column whose values cannot all be written in binary as Postgres would read them from text (an
 * id not in the canonical UUID form, an offset that is not a decimal int8) is sent as the text
 * literal of pg-arrays.ts instead (the statement's parameter types do not change, only this
 * execution's format of that parameter): Postgres then accepts or refuses it exactly as before.
 */
import { columnLiteral, dateMs } from './pg-arrays.ts';

// pg_type OIDs of the element types; array_recv refuses an array whose header names another.
const INT4 = 23;
const INT8 = 20;
const TEXT = 25;
const BYTEA = 17;
const UUID = 2950;
const TIMESTAMPTZ = 1184;

/** How one element type is written: its byte length (-1: this value cannot go in binary) and the writing of its bytes at `pos`. */
interface ElementType<V> {
  oid: number;
  size(v: V): number;
  write(buf: Buffer, v: V, pos: number): void;
}

// The picked values of the column being written and their sizes: a pick may do work (pgText), so it
// runs once per element, and so does a size check. Reused across calls (each runs synchronously to
// its end); emptied after, so they keep no value alive.
const picked: unknown[] = [];
const sizes: number[] = [];

/**
 * The one-dimensional array of `type` of `pick(row)` for each row, in binary (header, then each
 * element's length word, -1 for null, and bytes); null if some value cannot go in binary.
 */
function binaryArray<R, V>(rows: readonly R[], pick: (row: R) => V | null, type: ElementType<V>): Buffer | null {
  const n = rows.length;
  let body = 0;
  let hasNull = false;
  for (let i = 0; i < n; i++) {
    const v = pick(rows[i]!);
    picked[i] = v;
    if (v === null) hasNull = true;
    else {
      const size = type.size(v);
      if (size < 0) {
        picked.length = sizes.length = 0;
        return null;
      }
      sizes[i] = size;
      body += size;
    }
    body += 4;
  }
  // No dimensions for an empty array.
  const buf = Buffer.allocUnsafe(n === 0 ? 12 : 20 + body);
  buf.writeInt32BE(n === 0 ? 0 : 1, 0); // dimensions
  buf.writeInt32BE(hasNull ? 1 : 0, 4);
  buf.writeUInt32BE(type.oid, 8);
  let pos = 12;
  if (n > 0) {
    pos = buf.writeInt32BE(n, pos); // length of the one dimension
    pos = buf.writeInt32BE(1, pos); // its lower bound
  }
  for (let i = 0; i < n; i++) {
    const v = picked[i] as V | null;
    if (v === null) pos = buf.writeInt32BE(-1, pos);
    else {
      const size = sizes[i]!;
      pos = buf.writeInt32BE(size, pos);
      type.write(buf, v, pos);
      pos += size;
    }
  }
  picked.length = sizes.length = 0;
  return buf;
}

const TEXT_TYPE: ElementType<string> = {
  oid: TEXT,
  size: (v) => Buffer.byteLength(v, 'utf8'),
  write: (buf, v, pos) => void (v.length > 0 && buf.write(v, pos, 'utf8')),
};

/** `text[]`: each element's UTF-8 bytes (Postgres converts and checks them as it would a literal's). */
export function textArray<R>(rows: readonly R[], pick: (row: R) => string | null): Buffer {
  return binaryArray(rows, pick, TEXT_TYPE)!;
}

const BYTEA_TYPE: ElementType<Uint8Array> = { oid: BYTEA, size: (v) => v.byteLength, write: (buf, v, pos) => buf.set(v, pos) };

/** `bytea[]`: the bytes as they are. */
export function byteaArray<R>(rows: readonly R[], pick: (row: R) => Uint8Array | null): Buffer {
  return binaryArray(rows, pick, BYTEA_TYPE)!;
}

const INT4_TYPE: ElementType<number> = { oid: INT4, size: () => 4, write: (buf, v, pos) => void buf.writeInt32BE(v, pos) };

/** `int4[]` of values already within int4 (see pgInt). */
export function int4Array<R>(rows: readonly R[], pick: (row: R) => number | null): Buffer {
  return binaryArray(rows, pick, INT4_TYPE)!;
}

const TWO_32 = 4_294_967_296;
// Integers of at most 15 digits are exact as JS numbers; longer ones go through BigInt.
const SHORT_INT8 = /^-?\d{1,15}$/;
const LONG_INT8 = /^-?\d{16,19}$/;
const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;

/** Writes the exact integer `v` (|v| < 2^53) as a big-endian int64 at `pos`. */
function writeInt64(buf: Buffer, v: number, pos: number): void {
  const high = Math.floor(v / TWO_32);
  buf.writeInt32BE(high, pos);
  buf.writeUInt32BE(v - high * TWO_32, pos + 4);
}

const INT8_TYPE: ElementType<string> = {
  oid: INT8,
  size: (v) => (SHORT_INT8.test(v) || (LONG_INT8.test(v) && BigInt(v) >= INT8_MIN && BigInt(v) <= INT8_MAX) ? 8 : -1),
  write: (buf, v, pos) => (SHORT_INT8.test(v) ? writeInt64(buf, Number(v), pos) : void buf.writeBigInt64BE(BigInt(v), pos)),
};

/**
 * `int8[]` of decimal strings (Kafka offsets). Any element that is not a plain decimal within
 * int8 sends the whole column as a text literal, for Postgres to judge as it did before.
 */
export function int8Array<R>(rows: readonly R[], pick: (row: R) => string | null): Buffer | string {
  return binaryArray(rows, pick, INT8_TYPE) ?? columnLiteral(rows, pick);
}

// Postgres's timestamps count microseconds from 2000-01-01T00:00:00Z.
const POSTGRES_EPOCH_MS = 946_684_800_000;
// Within this many ms of the Postgres epoch (about 285 years) the microseconds are exact as a JS number.
const EXACT_MS = 9e12;

const TIMESTAMPTZ_TYPE: ElementType<number> = {
  oid: TIMESTAMPTZ,
  size: () => 8,
  write: (buf, v, pos) => {
    // + 0 turns -0 into 0.
    const ms = Math.trunc(v) - POSTGRES_EPOCH_MS + 0;
    if (Math.abs(ms) <= EXACT_MS) writeInt64(buf, ms * 1000, pos);
    else buf.writeBigInt64BE(BigInt(ms) * 1000n, pos);
  },
};

/**
 * `timestamptz[]` of ms since the Unix epoch: the instant, to the millisecond, that the text
 * element of timestampText names (a fraction of a ms is cut, as a Date cuts it); null for a value
 * that is no date. Postgres refuses one outside its range, as it refuses the text.
 */
export function timestamptzArray<R>(rows: readonly R[], pick: (row: R) => number | null): Buffer {
  // A value that is no date is null, as timestampText writes it (dateMs).
  return binaryArray(rows, (row) => dateMs(pick(row)), TIMESTAMPTZ_TYPE)!;
}

// The value of each hex digit by char code, -1 for any other character.
const HEX = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) HEX[48 + c] = c;
for (let c = 0; c < 6; c++) HEX[65 + c] = HEX[97 + c] = 10 + c;

/** Whether `v` is a canonical UUID: 8-4-4-4-12 hex digits, either case. */
function isCanonicalUuid(v: string): boolean {
  if (v.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = v.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23 ? c !== 45 : (HEX[c] ?? -1) < 0) return false;
  }
  return true;
}

const UUID_TYPE: ElementType<string> = {
  oid: UUID,
  size: (v) => (isCanonicalUuid(v) ? 16 : -1),
  write: (buf, v, pos) => {
    let i = 0;
    for (let b = 0; b < 16; b++) {
      if (i === 8 || i === 13 || i === 18 || i === 23) i++;
      buf[pos + b] = (HEX[v.charCodeAt(i)]! << 4) | HEX[v.charCodeAt(i + 1)]!;
      i += 2;
    }
  },
};

/**
 * `uuid[]` of ids in the canonical form (the only one this service writes). Any other form sends
 * the whole column as a text literal, which Postgres reads (other spellings) or refuses as before.
 */
export function uuidArray<R>(rows: readonly R[], pick: (row: R) => string | null): Buffer | string {
  return binaryArray(rows, pick, UUID_TYPE) ?? columnLiteral(rows, pick);
}
