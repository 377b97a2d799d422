// The canonical text form Postgres prints for a uuid (8-4-4-4-12 hex digits). Postgres also
// accepts other spellings, but ids are only ever copied from its own output, and checking before
// the query keeps a typo from becoming an "invalid input syntax for type uuid" error.
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `text` is a UUID in canonical form (either case). */
export function isUuid(text: string): boolean {
  return UUID_RE.test(text);
}
