/**
 * Array parameters in Postgres's binary format (what `array_send` writes and `array_recv` reads)
 * for the batched hot-path statements (the delivery claim, the delivery-log flush). node-postgres
 * sends a Buffer parameter as binary, so Postgres reads each element with its type's receive
 * function, a copy of its bytes, instead of scanning an array literal and parsing each element's
 * text (`array_in`, then `uuid_in`, `timestamptz_in`, bytea's hex…): with ~40 elements per
 * delivery, that parsing was the largest part of Postgres's CPU per delivery after the writes
 * themselves (docs/benchmark.md, "Postgres per delivery (session 24)").
 *
 * A column whose values cannot all be written in binary as Postgres would read them from text (an
 * id not in the canonical UUID form, an offset that is not a decimal int8) is sent as the text
 * literal of pg-arrays.ts instead (the statement's parameter types do not change, only this
 * execution's format of that parameter): Postgres then accepts or refuses it exactly as before.
 */
import { columnLiteral } from './pg-arrays.ts';

// pg_type OIDs of the element types; array_recv refuses an array whose header names another.
const INT4 = 23;
const INT8 = 20;
const TEXT = 25;
const BYTEA = 17;
const UUID = 2950;
const TIMESTAMPTZ = 1184;

/** The Buffer of `n` elements of type `oid`, its header written; `body` is the elements' bytes with their length words. */
function allocate(n: number, hasNull: boolean, oid: number, body: number): { buf: Buffer; pos: number } {
  if (n === 0) {
    // No dimensions: an empty array.
    const buf = Buffer.allocUnsafe(12);
    buf.writeInt32BE(0, 0);
    buf.writeInt32BE(0, 4);
    buf.writeUInt32BE(oid, 8);
    return { buf, pos: 12 };
  }
  const buf = Buffer.allocUnsafe(20 + body);
  buf.writeInt32BE(1, 0); // dimensions
  buf.writeInt32BE(hasNull ? 1 : 0, 4);
  buf.writeUInt32BE(oid, 8);
  buf.writeInt32BE(n, 12); // length of the one dimension
  buf.writeInt32BE(1, 16); // its lower bound
  return { buf, pos: 20 };
}

// The picked values of the column being written: a pick may do work (pgText), so it runs once per
// element. Reused across calls (each runs synchronously to its end); emptied after, so it keeps no text alive.
const picked: Array<string | null> = [];

/** `text[]`: each element's UTF-8 bytes (Postgres converts and checks them as it would a literal's). */
export function textArray<R>(rows: readonly R[], pick: (row: R) => string | null): Buffer {
  let body = 0;
  let hasNull = false;
  for (let i = 0; i < rows.length; i++) {
    const v = pick(rows[i]!);
    picked[i] = v;
    if (v === null) hasNull = true;
    else body += Buffer.byteLength(v, 'utf8');
    body += 4;
  }
  const out = allocate(rows.length, hasNull, TEXT, body);
  const { buf } = out;
  let { pos } = out;
  for (let i = 0; i < rows.length; i++) {
    const v = picked[i] ?? null;
    if (v === null) pos = buf.writeInt32BE(-1, pos);
    else {
      const n = v.length === 0 ? 0 : buf.write(v, pos + 4, 'utf8');
      buf.writeInt32BE(n, pos);
      pos += 4 + n;
    }
  }
  picked.length = 0;
  return buf;
}

/** `bytea[]`: the bytes as they are. */
export function byteaArray<R>(rows: readonly R[], pick: (row: R) => Uint8Array | null): Buffer {
  let body = 0;
  let hasNull = false;
  for (let i = 0; i < rows.length; i++) {
    const v = pick(rows[i]!);
    if (v === null) hasNull = true;
    else body += v.byteLength;
    body += 4;
  }
  const out = allocate(rows.length, hasNull, BYTEA, body);
  const { buf } = out;
  let { pos } = out;
  for (let i = 0; i < rows.length; i++) {
    const v = pick(rows[i]!);
    if (v === null) pos = buf.writeInt32BE(-1, pos);
    else {
      pos = buf.writeInt32BE(v.byteLength, pos);
      buf.set(v, pos);
      pos += v.byteLength;
    }
  }
  return buf;
}

/** `int4[]` of values already within int4 (see pgInt). */
export function int4Array<R>(rows: readonly R[], pick: (row: R) => number | null): Buffer {
  let body = 0;
  let hasNull = false;
  for (let i = 0; i < rows.length; i++) {
    const v = pick(rows[i]!);
    if (v === null) hasNull = true;
    body += v === null ? 4 : 8;
  }
  const out = allocate(rows.length, hasNull, INT4, body);
  const { buf } = out;
  let { pos } = out;
  for (let i = 0; i < rows.length; i++) {
    const v = pick(rows[i]!);
    if (v === null) pos = buf.writeInt32BE(-1, pos);
    else {
      pos = buf.writeInt32BE(4, pos);
      pos = buf.writeInt32BE(v, pos);
    }
  }
  return buf;
}

const TWO_32 = 4_294_967_296;
// Integers of at most 15 digits are exact as JS numbers; longer ones go through BigInt.
const SHORT_INT8 = /^-?\d{1,15}$/;
const LONG_INT8 = /^-?\d{16,19}$/;
const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;

/** Writes the exact integer `v` (|v| < 2^53) as a big-endian int64 at `pos`. */
function writeInt64(buf: Buffer, v: number, pos: number): number {
  const high = Math.floor(v / TWO_32);
  pos = buf.writeInt32BE(high, pos);
  return buf.writeUInt32BE(v - high * TWO_32, pos);
}

/**
 * `int8[]` of decimal strings (Kafka offsets). Any element that is not a plain decimal within
 * int8 sends the whole column as a text literal, for Postgres to judge as it did before.
 */
export function int8Array<R>(rows: readonly R[], pick: (row: R) => string | null): Buffer | string {
  let body = 0;
  let hasNull = false;
  for (let i = 0; i < rows.length; i++) {
    const v = pick(rows[i]!);
    if (v === null) hasNull = true;
    else if (!SHORT_INT8.test(v) && !(LONG_INT8.test(v) && BigInt(v) >= INT8_MIN && BigInt(v) <= INT8_MAX)) {
      return columnLiteral(rows, pick);
    }
    body += v === null ? 4 : 12;
  }
  const out = allocate(rows.length, hasNull, INT8, body);
  const { buf } = out;
  let { pos } = out;
  for (let i = 0; i < rows.length; i++) {
    const v = pick(rows[i]!);
    if (v === null) pos = buf.writeInt32BE(-1, pos);
    else {
      pos = buf.writeInt32BE(8, pos);
      pos = SHORT_INT8.test(v) ? writeInt64(buf, Number(v), pos) : buf.writeBigInt64BE(BigInt(v), pos);
    }
  }
  return buf;
}

// Postgres's timestamps count microseconds from 2000-01-01T00:00:00Z.
const POSTGRES_EPOCH_MS = 946_684_800_000;
// JS Dates reach ±8.64e15 ms; NaN and infinities do not serialise (as timestampText: null).
const MAX_DATE_MS = 8.64e15;
// Within this many ms of the Postgres epoch (about 285 years) the microseconds are exact as a JS number.
const EXACT_MS = 9e12;

/**
 * `timestamptz[]` of ms since the Unix epoch: the instant, to the millisecond, that the text
 * element of timestampText names (a fraction of a ms is cut, as a Date cuts it); null for a value
 * that is no date. Postgres refuses one outside its range, as it refuses the text.
 */
export function timestamptzArray<R>(rows: readonly R[], pick: (row: R) => number | null): Buffer {
  let body = 0;
  let hasNull = false;
  for (let i = 0; i < rows.length; i++) {
    const v = pick(rows[i]!);
    const isNull = v === null || !Number.isFinite(v) || Math.abs(v) > MAX_DATE_MS;
    if (isNull) hasNull = true;
    body += isNull ? 4 : 12;
  }
  const out = allocate(rows.length, hasNull, TIMESTAMPTZ, body);
  const { buf } = out;
  let { pos } = out;
  for (let i = 0; i < rows.length; i++) {
    const v = pick(rows[i]!);
    if (v === null || !Number.isFinite(v) || Math.abs(v) > MAX_DATE_MS) pos = buf.writeInt32BE(-1, pos);
    else {
      pos = buf.writeInt32BE(8, pos);
      // + 0 turns -0 into 0.
      const ms = Math.trunc(v) - POSTGRES_EPOCH_MS + 0;
      pos = Math.abs(ms) <= EXACT_MS ? writeInt64(buf, ms * 1000, pos) : buf.writeBigInt64BE(BigInt(ms) * 1000n, pos);
    }
  }
  return buf;
}

// The value of each hex digit by char code, -1 for any other character.
const HEX = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) HEX[48 + c] = c;
for (let c = 0; c < 6; c++) HEX[65 + c] = HEX[97 + c] = 10 + c;

/** Writes the 16 bytes of a canonical UUID (8-4-4-4-12 hex digits, either case) at `pos`; false if `v` is not one. */
function writeUuid(buf: Buffer, v: string, pos: number): boolean {
  if (v.length !== 36) return false;
  let i = 0;
  for (let b = 0; b < 16; b++) {
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (v.charCodeAt(i) !== 45) return false;
      i++;
    }
    const hi = HEX[v.charCodeAt(i)] ?? -1;
    const lo = HEX[v.charCodeAt(i + 1)] ?? -1;
    if (hi < 0 || lo < 0) return false;
    buf[pos + b] = (hi << 4) | lo;
    i += 2;
  }
  return true;
}

/**
 * `uuid[]` of ids in the canonical form (the only one this service writes). Any other form sends
 * the whole column as a text literal, which Postgres reads (other spellings) or refuses as before.
 */
export function uuidArray<R>(rows: readonly R[], pick: (row: R) => string | null): Buffer | string {
  let body = 0;
  let hasNull = false;
  for (let i = 0; i < rows.length; i++) {
    const isNull = pick(rows[i]!) === null;
    if (isNull) hasNull = true;
    body += isNull ? 4 : 20;
  }
  const out = allocate(rows.length, hasNull, UUID, body);
  const { buf } = out;
  let { pos } = out;
  for (let i = 0; i < rows.length; i++) {
    const v = pick(rows[i]!);
    if (v === null) pos = buf.writeInt32BE(-1, pos);
    else {
      pos = buf.writeInt32BE(16, pos);
      if (!writeUuid(buf, v, pos)) return columnLiteral(rows, pick);
      pos += 16;
    }
  }
  return buf;
}
