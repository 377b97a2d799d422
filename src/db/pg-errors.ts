/**
 * Classification of errors from pg by SQLSTATE (never by message text).
 * https://www.postgresql.org/docs/current/errcodes-appendix.html
 */

/** The SQLSTATE of an error from the server, or undefined (a network error, a client-side error). */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * True when the server refused the statement for the data it carried: class 22 (data exception:
 * bad encoding, out of range, invalid text representation) or 23 (integrity constraint
 * violation). Retrying the same rows cannot succeed; every other error (connection lost,
 * 57P01 admin shutdown, 57014 statement timeout, 55P03 lock timeout, 40001, 53xxx ...) may pass.
 */
export function isDataError(err: unknown): boolean {
  const state = sqlState(err);
  return state !== undefined && (state.startsWith('22') || state.startsWith('23'));
}
