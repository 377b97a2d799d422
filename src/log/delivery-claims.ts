import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { byteaArray, int4Array, int8Array, textArray, timestamptzArray, uuidArray } from '../db/pg-binary-arrays.ts';
import { pgInt, pgText, SHORT_TEXT_CHARS } from '../db/postgres-values.ts';
import { CLAIM_STATEMENTS_IN_FLIGHT } from '../config.ts';
import { sleep } from '../util/backoff.ts';

/** One delivery an input message would make. */
export interface ClaimRequest {
  deliveryId: string;
  /**
   * The id to use instead if `deliveryId` already belongs to a different event (another digest).
   * Read only on a collision: a caller may make it a getter, to hash only when it is needed.
   */
  readonly collisionId: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  eventTimestampMs: number;
  /** SHA-256 of the webhook body. */
  bodyDigest: Buffer;
  source: { topic: string; partition: number; offset: string };
}

/** What became of a request: the delivery id it goes under, and whether this caller sends it. */
export interface ClaimOutcome {
  deliveryId: string;
  /** True: claimed here, send it. False: made (or claimed) before, do not send it again. */
  claimed: boolean;
}

type Answer = 'claimed' | 'done' | 'held' | 'collision';

/** A request asked about under `id` (its delivery id, or its collision id). */
interface Asked {
  id: string;
  r: ClaimRequest;
}

// One round trip for every delivery of the messages asking at once. The outer select reads the rows as they were
// before this statement, which tells a delivery already made from one claimed elsewhere. Only the requests not
// claimed come back: in the common case (every one claimed) the answer has no rows for node-postgres to parse.
//
// The claim is on the path to every first POST, so its commit does not wait for the WAL flush
// (synchronous_commit off, for this statement's own transaction only: set_config's `true`). That
// keeps every guarantee: the delivery's log row is written with a synchronous commit before its
// offset is committed, and that flush covers all earlier WAL, this claim included. A Postgres
// crash can lose only claims whose deliveries are not recorded yet, whose offsets are therefore
// not committed: the event is read again and sent again, a duplicate at-least-once allows.
const CLAIM_SQL = `
with async_commit as (
  select set_config('synchronous_commit', 'off', true)
), input as (
  -- Joined here, not in the outer select: the insert below reads every input row, so this runs
  -- even when the answer is empty (every request claimed), which the outer select's plan may not.
  select u.* from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::bytea[],
                         $7::text[], $8::int[], $9::bigint[])
    as u(id, endpoint_id, event_id, event_type, event_timestamp, body_digest, source_topic, source_partition, source_offset)
  cross join async_commit
), claimed as (
  insert into webhooks.deliveries as d
    (id, endpoint_id, event_id, event_type, event_timestamp, status, body_digest, claimed_by, claimed_at,
     source_topic, source_partition, source_offset)
  select id, endpoint_id, event_id, event_type, event_timestamp, 'pending', body_digest, $10::uuid, now(),
         source_topic, source_partition, source_offset
    from input
  on conflict (id) do update set claimed_by = excluded.claimed_by, claimed_at = excluded.claimed_at
   where d.status = 'pending' and d.attempts = 0 and d.payload is null and d.claimed_at is not null
     and d.body_digest = excluded.body_digest
     and (d.claimed_by = excluded.claimed_by or d.claimed_at < now() - make_interval(secs => $11::double precision / 1000))
  returning d.id
)
select i.id::text as id,
       case when d.id is null then 'held'
            when d.body_digest is not null and d.body_digest <> i.body_digest then 'collision'
            when d.status = 'pending' and d.attempts = 0 and d.payload is null and d.claimed_at is not null then 'held'
            else 'done' end as answer
  from input i
  left join webhooks.deliveries d on d.id = i.id
 where not exists (select 1 from claimed c where c.id = i.id)`;

export interface DeliveryClaimsOptions {
  /** A claim older than this whose claimer has not recorded an attempt is taken over, ms. */
  leaseMs: number;
  /** Pause before asking again about a delivery claimed elsewhere, ms. */
  pollMs?: number;
}

/**
 * Claims first attempts in Postgres before they are sent, so two copies of one event handled at
 * the same time (here or in another dispatcher) send it once. A delivery claimed by someone else
 * is waited for: it ends recorded (then it is not sent again) or its claim goes stale (the claimer
 * died) and is taken over, so a claim never loses a delivery.
 */
export class DeliveryClaims {
  /** This dispatcher instance: a restart is a new claimer. */
  readonly instanceId = randomUUID();
  readonly #pool: Pick<pg.Pool, 'query'>;
  readonly #o: Required<DeliveryClaimsOptions>;
  /** Claimed here and not released yet: another copy handled here waits for it. */
  readonly #mine = new Map<string, Buffer>();
  #queued: Array<{ requests: Asked[]; resolve: (answers: Map<string, Answer>) => void; reject: (err: unknown) => void }> = [];
  /** Claim statements running now. */
  #statements = 0;
  /** A flush is due in the next turn of the event loop. */
  #scheduled = false;

  /** `pool`: a pool, or one client (a test reads what the statement changed in its transaction). */
  constructor(pool: Pick<pg.Pool, 'query'>, options: DeliveryClaimsOptions) {
    this.#pool = pool;
    this.#o = { pollMs: 100, ...options };
  }

  /** Claims the deliveries of one message, waiting for those claimed elsewhere to settle. */
  async claim(requests: readonly ClaimRequest[], signal: AbortSignal): Promise<ClaimOutcome[]> {
    const out: Array<ClaimOutcome | undefined> = requests.map(() => undefined);
    let todo = requests.map((r, i) => ({ i, r, id: r.deliveryId }));
    while (todo.length > 0) {
      const next: typeof todo = [];
      const ask: typeof todo = [];
      // Each request's entry is updated in place (its id may become the collision id): one per request, not per round.
      for (const t of todo) {
        // Held here for another body: another event, which takes the collision id.
        if (this.#mine.get(t.id)?.equals(t.r.bodyDigest) === false && t.id !== t.r.collisionId) t.id = t.r.collisionId;
        if (this.#mine.has(t.id)) next.push(t);
        else {
          // Reserved while asked, so a copy handled here at the same moment waits instead of asking too.
          this.#mine.set(t.id, t.r.bodyDigest);
          ask.push(t);
        }
      }
      let answers: Map<string, Answer> | undefined;
      try {
        if (ask.length > 0) answers = await this.#ask(ask);
      } catch (err) {
        for (const t of ask) this.#mine.delete(t.id);
        throw err;
      }
      for (const t of ask) {
        const answer = answers?.get(t.id) ?? 'claimed';
        if (answer === 'claimed') {
          out[t.i] = { deliveryId: t.id, claimed: true };
          continue;
        }
        this.#mine.delete(t.id);
        if (answer === 'done') out[t.i] = { deliveryId: t.id, claimed: false };
        else {
          if (answer === 'collision') t.id = t.r.collisionId;
          next.push(t);
        }
      }
      todo = next;
      if (todo.length > 0) await sleep(this.#o.pollMs, signal);
    }
    return out as ClaimOutcome[];
  }

  /**
   * Gives up claims whose attempt did not settle (the handler failed or was aborted), so whoever
   * handles the message next need not wait out the lease. Best effort and not awaited: a claim
   * it cannot give up still ends with the lease.
   */
  abandon(deliveryIds: readonly string[]): void {
    this.release(deliveryIds);
    if (deliveryIds.length === 0) return;
    this.#pool
      .query(
        `update webhooks.deliveries set claimed_at = '-infinity'
          where id = any($1::uuid[]) and claimed_by = $2 and status = 'pending' and attempts = 0 and payload is null`,
        [deliveryIds, this.instanceId],
      )
      .catch(() => {});
  }

  /** Ends this instance's hold on claims: call it once the message's deliveries have settled. */
  release(deliveryIds: Iterable<string>): void {
    for (const id of deliveryIds) this.#mine.delete(id);
  }

  // Messages handled in the same turn of the event loop share one statement: ids never repeat in
  // it, as each is reserved in #mine before it is asked about. With CLAIM_STATEMENTS_IN_FLIGHT
  // statements running, what is asked meanwhile waits and goes in the next one: under load the
  // statements grow instead of multiplying (Postgres pays a fixed cost per statement, about as
  // much as for 20 rows), and an idle dispatcher's claim still goes at once.
  #ask(requests: Asked[]): Promise<Map<string, Answer>> {
    return new Promise((resolve, reject) => {
      this.#queued.push({ requests, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#queued.length === 0 || this.#statements >= CLAIM_STATEMENTS_IN_FLIGHT) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#queued.length === 0 || this.#statements >= CLAIM_STATEMENTS_IN_FLIGHT) return;
    const batch = this.#queued.splice(0);
    this.#statements++;
    try {
      const answers = await this.#query(batch.flatMap((b) => b.requests));
      for (const b of batch) b.resolve(answers);
    } catch (err) {
      for (const b of batch) b.reject(err);
    } finally {
      this.#statements--;
      this.#schedule();
    }
  }

  async #query(asked: Asked[]): Promise<Map<string, Answer>> {
    // Named: each connection parses and plans the statement once, then only binds and executes it.
    const { rows } = await this.#pool.query<{ id: string; answer: Exclude<Answer, 'claimed'> }>({
      name: 'webhooks_claim_deliveries',
      text: CLAIM_SQL,
      // Binary arrays (pg-binary-arrays.ts): Postgres copies each element instead of parsing its text.
      values: [
        uuidArray(asked, (a) => a.id),
        uuidArray(asked, (a) => a.r.endpointId),
        textArray(asked, (a) => pgText(a.r.eventId, SHORT_TEXT_CHARS)),
        textArray(asked, (a) => pgText(a.r.eventType, SHORT_TEXT_CHARS)),
        timestamptzArray(asked, (a) => a.r.eventTimestampMs),
        byteaArray(asked, (a) => a.r.bodyDigest),
        textArray(asked, (a) => pgText(a.r.source.topic, SHORT_TEXT_CHARS)),
        int4Array(asked, (a) => pgInt(a.r.source.partition)),
        int8Array(asked, (a) => a.r.source.offset),
        this.instanceId,
        this.#o.leaseMs,
      ],
    });
    return new Map(rows.map((r) => [r.id, r.answer]));
  }
}
