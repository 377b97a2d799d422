/**
 * Webhook signatures. THIS FILE IS A WIRE CONTRACT: receivers verify these bytes, so a change here
 * breaks every integration. Two schemes ride on every request (see ARCHITECTURE.md, "Signatures"):
 *
 * - `X-Webhook-Signature` (the product spec): lowercase hex HMAC-SHA256 of the exact body bytes,
 *   keyed by the endpoint secret string exactly as stored, UTF-8 encoded. This is what the spec's
 *   Node snippet (`crypto.createHmac('sha256', secret).update(body).digest('hex')`) verifies.
 * - Standard Webhooks (standardwebhooks.com): `webhook-signature: v1,<base64 HMAC-SHA256 of
 *   "<webhook-id>.<webhook-timestamp>.<body>">`, keyed by the base64-decoded part of a
 *   `whsec_<base64>` secret (any other secret: its UTF-8 bytes). During a secret rotation there is
 *   one `v1,` signature per valid secret, space-separated, newest first. Signing the id and the
 *   timestamp with the body closes the replay hole of signing the body alone.
 *
 * Pure functions; nothing here logs or puts a secret into an error.
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

const WHSEC_PREFIX = 'whsec_';

/** Lowercase hex HMAC-SHA256 of the exact body bytes, keyed by the secret string as stored (UTF-8). What the spec's Node snippet verifies. */
export function signatureHeader(body: Uint8Array, secret: string): string {
  const memo = specSignatures.get(body);
  if (memo !== undefined && memo.secret === secret) return memo.signature;
  const signature = createHmac('sha256', cachedKey(specKeyCache, secret, specKeyBytes))
    .update(body)
    .digest('hex');
  specSignatures.set(body, { secret, signature });
  return signature;
}

// An event fans out to its endpoints with one body buffer (built once, never changed after), and
// endpoints that share a secret (one receiver's several URLs) get the same spec signature: it is
// computed once per body and secret. Only the last secret is remembered per body; the entry goes
// with the body. The Standard Webhooks signature covers the delivery id, so it is never shared.
const specSignatures = new WeakMap<Uint8Array, { secret: string; signature: string }>();

function specKeyBytes(secret: string): Buffer {
  return Buffer.from(secret, 'utf8');
}

function deriveStandardKey(secret: string): Buffer {
  return secret.startsWith(WHSEC_PREFIX) ? Buffer.from(secret.slice(WHSEC_PREFIX.length), 'base64') : Buffer.from(secret, 'utf8');
}

// The same few secrets sign millions of requests: keep their derived key bytes. Bounded so a
// churn of rotated secrets cannot grow it without limit; eviction drops the oldest insertion.
const KEY_CACHE_MAX = 4096;
// A KeyObject, not a Buffer: createHmac with a Buffer key costs ~30 µs on Node 24 (key import on
// every call), with a KeyObject ~4 µs.
const standardKeyCache = new Map<string, KeyObject>();
const specKeyCache = new Map<string, KeyObject>();

function cachedKey(cache: Map<string, KeyObject>, secret: string, derive: (secret: string) => Buffer): KeyObject {
  let key = cache.get(secret);
  if (key === undefined) {
    key = createSecretKey(derive(secret));
    if (cache.size >= KEY_CACHE_MAX) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    cache.set(secret, key);
  }
  return key;
}

function cachedStandardKey(secret: string): KeyObject {
  return cachedKey(standardKeyCache, secret, deriveStandardKey);
}

/** Key bytes for Standard Webhooks: for "whsec_<base64>" the base64-decoded part; any other secret: its UTF-8 bytes. */
export function standardKey(secret: string): Buffer {
  // A copy: the cached bytes must not be mutated by a caller.
  return cachedStandardKey(secret).export();
}

/** `v1,<base64 HMAC-SHA256 of "${id}.${timestampSeconds}.${body}">` for each secret, space-separated (rotation: newest first). */
export function standardSignatureHeader(id: string, timestampSeconds: number, body: Uint8Array, secrets: readonly string[]): string {
  const prefix = `${id}.${timestampSeconds}.`;
  let header = '';
  for (let i = 0; i < secrets.length; i++) {
    // update(prefix); update(body): the body is never copied into a concatenated buffer.
    const mac = createHmac('sha256', cachedStandardKey(secrets[i]!)).update(prefix).update(body).digest('base64');
    header += i === 0 ? `v1,${mac}` : ` v1,${mac}`;
  }
  return header;
}
