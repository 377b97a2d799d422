// Fixed tuning values of the service (not settings: no variable changes them), re-exported by
// src/config.ts, which holds the settings and their defaults.

/**
 * Most levels of objects and arrays in an event's `data` (data itself is level 1). Deeper events
 * are invalid (`too_deep`): real dialer events are a few levels deep, and encoding a very deep
 * value would overflow the stack.
 */
export const MAX_EVENT_DEPTH = 64;

/**
 * Backoff while a dependency (Postgres, the broker, the schema registry) is down: 200 ms doubling
 * to 10 s, so recovery is noticed within 10 s and a dead dependency costs little.
 */
export const DEPENDENCY_BACKOFF: Readonly<{ initialMs: number; maxMs: number }> = Object.freeze({ initialMs: 200, maxMs: 10_000 });

/**
 * Tries of an operation (or of a whole message) that keeps failing with an error nobody classified
 * before it is given up: the message is then quarantined to the invalid topic (`handler_failed`).
 */
export const UNCLASSIFIED_ATTEMPTS = 5;

/**
 * Delivery claim statements one dispatcher runs at once; claims asked while they run share the
 * next one (see DeliveryClaims). Two, so a claim never waits behind a single slow statement.
 */
export const CLAIM_STATEMENTS_IN_FLIGHT = 2;

/**
 * Most bytes one fetch of a delay-topic partition reads (see DelayConsumer): 64 KiB, about 50
 * retries of 1 KiB events. Each resume of a paused delay partition fetches and decodes it again
 * from the first task not yet due; with the input topics' 1 MiB, a hung endpoint's retries were
 * decoded dozens of times each.
 */
export const RETRY_FETCH_BYTES_PER_PARTITION = 64 * 1024;

/**
 * A delay-topic task due within this long is held in memory until due instead of pausing its
 * partition at it (see DelayConsumer): 1 s. A hung endpoint's retries come back a few ms apart,
 * and pausing at each meant a commit, a fetch and a decode of the next few dozen tasks per few
 * handed on. Bounded by the partition's slots (PARTITION_CONCURRENCY): with all taken, the
 * partition pauses at the next task until it is due.
 */
export const RETRY_HOLD_MS = 1000;

/** An alert.triggered event queued but not produced this long is produced by the next sweep of any dispatcher: 1 min. */
export const ALERT_CLAIM_LEASE_MS = 60_000;
/** Longest an auto-disabled endpoint's alert waits for this dispatcher's index to drop it (so it is not sent its own alert): 5 s. */
export const DISABLED_ENDPOINT_DROP_WAIT_MS = 5000;

/** How often rotated-out secrets past their overlap are erased from webhooks.endpoints: 5 min. */
export const PREVIOUS_SECRET_SWEEP_MS = 5 * 60_000;
/**
 * After a 429 halves an endpoint's `max_per_second`, each 10 s without another 429 doubles it back
 * (see EndpointThrottle).
 */
export const THROTTLE_RECOVERY_MS = 10_000;

/** How often each dispatcher repairs the per-key queues (releases a head's successor a crash left parked), ms. */
export const KEY_QUEUE_SWEEP_MS = 15_000;

/**
 * Replay: deliveries queued per second unless REPLAY_RATE or `--rate` says otherwise, so a replay
 * of a week does not crowd out live traffic on the retry consumer; and the most either may ask.
 */
export const REPLAY_DEFAULT_RATE = 200;
export const REPLAY_MAX_RATE = 10_000;

/** Reconnect backoff of a LISTEN connection: 100 ms doubling to 10 s, with equal jitter. */
export const RECONNECT_BACKOFF: Readonly<{ initialMs: number; maxMs: number }> = Object.freeze({ initialMs: 100, maxMs: 10_000 });
