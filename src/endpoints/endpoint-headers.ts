/**
 * Per-endpoint request headers (webhooks.endpoints.headers, migration 0008): what may be set, how
 * the values are masked wherever they are shown, and how a change applies. The database trigger
 * (webhooks.endpoint_headers_problem) enforces the same rules at every write; the checks here let
 * the deliverer skip anything reserved even if a row got past it, and let the CLI and the web
 * admin refuse a bad `Name: value` before a round trip.
 */

/** Header names and values as stored, e.g. `{ Authorization: 'Bearer …' }`. */
export type EndpointHeaders = Readonly<Record<string, string>>;

/** No headers: shared, frozen, so endpoints without headers allocate nothing. */
export const NO_HEADERS: EndpointHeaders = Object.freeze({});

// RFC 9110 token characters.
const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Printable ASCII only (no CR, LF, NUL or other controls), as the trigger requires.
const VALUE_RE = /^[\t\x20-\x7e]*$/;

/**
 * True for a name the dispatcher owns (case-insensitive): `Content-Type`, `Host`, `X-Webhook-*`
 * and `webhook-*` carry the body's type and the signatures, which a receiver must be able to trust.
 */
export function isReservedHeaderName(name: string): boolean {
  const n = name.toLowerCase();
  return n === 'content-type' || n === 'host' || n.startsWith('x-webhook-') || n.startsWith('webhook-');
}

/**
 * Adds an endpoint's headers to a request's (lowercase names, as undici sends them), never
 * replacing one already set nor adding a reserved one: the request's own headers always win.
 */
export function addEndpointHeaders(headers: Record<string, string>, extra: EndpointHeaders): void {
  for (const name in extra) {
    const key = name.toLowerCase();
    if (headers[key] === undefined && !isReservedHeaderName(key)) headers[key] = extra[name]!;
  }
}

/** Why `name: value` cannot be an endpoint header (naming the header, never the value), or null. */
export function headerProblem(name: string, value: string): string | null {
  if (!TOKEN_RE.test(name)) {
    return `header name ${JSON.stringify(name)} is not a valid HTTP header name (letters, digits and !#$%&'*+.^_\`|~- only)`;
  }
  if (isReservedHeaderName(name)) {
    return `header ${name} may not be set: Content-Type, Host, X-Webhook-* and webhook-* are the dispatcher's own`;
  }
  if (value === '') return `header ${name} has an empty value`;
  if (!VALUE_RE.test(value)) {
    return `header ${name} has a value with characters other than printable ASCII (no CR, LF or other control characters)`;
  }
  if (/^[ \t]|[ \t]$/.test(value)) return `header ${name} has a value that starts or ends with white space`;
  if (value.length > 4096) return `header ${name} has a value longer than 4096 characters`;
  return null;
}

/**
 * A stored headers value as the dispatcher holds it: an object of strings, else none. The
 * trigger guarantees the shape; this only keeps a hand-edited oddity from reaching the wire.
 */
export function toEndpointHeaders(stored: unknown): EndpointHeaders {
  if (stored === null || typeof stored !== 'object' || Array.isArray(stored)) return NO_HEADERS;
  const entries = Object.entries(stored as Record<string, unknown>);
  if (entries.length === 0) return NO_HEADERS;
  const headers: Record<string, string> = {};
  for (const [name, value] of entries) if (typeof value === 'string') headers[name] = value;
  return Object.freeze(headers);
}

/**
 * A header value as shown to people: a credential's scheme is kept (`Bearer ****`), everything
 * else becomes `****`. The length is not shown either.
 */
export function maskHeaderValue(value: string): string {
  const scheme = /^([A-Za-z][A-Za-z0-9-]*) \S/.exec(value);
  return scheme ? `${scheme[1]} ****` : '****';
}

/** Names with masked values, e.g. `{ Authorization: 'Bearer ****' }`, for CLI JSON and the admin. */
export function maskedHeaders(headers: EndpointHeaders): Record<string, string> {
  const masked: Record<string, string> = {};
  for (const name of Object.keys(headers).sort()) masked[name] = maskHeaderValue(headers[name]!);
  return masked;
}

/**
 * A change of an endpoint's headers: `clear` drops every stored one first, `remove` drops these
 * names (case-insensitive), `set` adds or replaces (a stored header of the same name in another
 * case is replaced). Applied in one statement, so stored values are never read back to do it.
 */
export interface HeaderChanges {
  set?: EndpointHeaders;
  remove?: readonly string[];
  clear?: boolean;
}

/** True when the change would do nothing. */
export function isEmptyHeaderChange(c: HeaderChanges): boolean {
  return !c.clear && (c.remove?.length ?? 0) === 0 && Object.keys(c.set ?? {}).length === 0;
}

/**
 * `Name: value` (as given to `--header`, or a line of the admin form) as a pair; throws a
 * TypeError with the problem (never the value) when it is no valid header.
 */
export function parseHeaderLine(line: string): [string, string] {
  const colon = line.indexOf(':');
  // Nothing of a line without a name is echoed: it may be a bare credential.
  if (colon <= 0) throw new TypeError('a header must be given as "Name: value", e.g. "Authorization: Bearer …"');
  const name = line.slice(0, colon).trim();
  const value = line.slice(colon + 1).trim();
  const problem = headerProblem(name, value);
  if (problem !== null) throw new TypeError(problem);
  return [name, value];
}
