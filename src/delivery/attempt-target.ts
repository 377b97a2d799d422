/**
 * An endpoint URL as one attempt uses it, parsed once and cached: endpoints are few and sent to
 * over and over. The parser is the WHATWG one undici uses too, so what is checked here
 * (`0x7f000001`, `127.1`, full-width dots and IDN already normalised) is what is connected to.
 */
import { blockedMessage, type EgressGuard } from './egress-guard.ts';

const TARGET_CACHE_MAX = 4096;

export interface Target {
  origin: string;
  path: string;
  https: boolean;
  /** Set when the URL itself is refused (an IP literal the guard denies, userinfo); checked before any socket. */
  refusal: string | null;
}

/** Parses URLs through a bounded cache; an unusable URL comes back as its failure message. */
export function targetCache(guard: EgressGuard): (url: string) => Target | string {
  const targets = new Map<string, Target | string>();
  return (url) => {
    let target = targets.get(url);
    if (target === undefined) {
      target = parseTarget(url, guard);
      if (targets.size >= TARGET_CACHE_MAX) {
        const oldest = targets.keys().next();
        if (!oldest.done) targets.delete(oldest.value);
      }
      targets.set(url, target);
    }
    return target;
  };
}

/** One URL as a target, or why it cannot be one. Host names are checked later, at connect time. */
export function parseTarget(url: string, guard: EgressGuard): Target | string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The URL itself stays out of the message: it may carry a token.
    return 'invalid URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `unsupported URL scheme ${parsed.protocol}`;
  let refusal: string | null = null;
  if (parsed.username !== '' || parsed.password !== '') {
    refusal = 'not sent: the URL carries credentials (user@host); the endpoint must be changed';
  } else {
    const decision = guard.check(parsed.hostname);
    if (!decision.allowed && decision.reason !== 'not an IP address') refusal = blockedMessage(parsed.hostname, decision);
  }
  return { origin: parsed.origin, path: parsed.pathname + parsed.search, https: parsed.protocol === 'https:', refusal };
}
