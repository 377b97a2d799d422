import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import pino, { type Logger } from 'pino';
import { EndpointCache, ENDPOINTS_CHANNEL, type EndpointCacheOptions } from '../../src/endpoints/endpoint-cache.ts';
import { signingSecrets } from '../../src/endpoints/endpoint.ts';
import {
  createEndpoint,
  disableEndpoint,
  findEnabledEndpoints,
  findEndpointById,
  writeSettings,
} from '../../src/endpoints/endpoint-store.ts';
import { openDatabase } from '../../src/db/database.ts';
import { BASE_DATABASE_URL, createTestDatabase, dbError, type TestDatabase } from '../support/database.ts';
import { waitFor, waitForEvent } from '../support/wait-for.ts';

const LISTEN_APP_PREFIX = `ec-listen-${randomBytes(3).toString('hex')}`;

let tdb: TestDatabase;
const caches = new Set<EndpointCache>();

before(async () => {
  tdb = await createTestDatabase('endpoint_cache');
});

after(async () => {
  try {
    await Promise.all([...caches].map((c) => c.stop()));
    // Every cache was stopped: none of their LISTEN connections may remain.
    const { rows } = await tdb.pool.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where application_name like $1', [
      `${LISTEN_APP_PREFIX}%`,
    ]);
    assert.equal(rows[0]?.n, 0, 'a LISTEN connection was left open');
  } finally {
    await tdb.drop();
  }
});

// --- helpers ---------------------------------------------------------------------------------

const silent = pino({ level: 'silent' });

function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

let cacheCounter = 0;

function newCache(options: Partial<EndpointCacheOptions> = {}): { cache: EndpointCache; applicationName: string } {
  const applicationName = `${LISTEN_APP_PREFIX}-${++cacheCounter}`;
  const cache = new EndpointCache({
    db: tdb.db,
    databaseUrl: tdb.url,
    reloadIntervalMs: 60_000,
    logger: silent,
    applicationName,
    ...options,
  });
  caches.add(cache);
  return { cache, applicationName };
}

async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  return (await tdb.pool.query<R>(text, values)).rows;
}

async function insertRaw(name: string, eventTypes: string[], url = `https://example.com/hooks/${name}`): Promise<string> {
  const rows = await sql<{ id: string }>('insert into webhooks.endpoints (name, url, event_types) values ($1, $2, $3) returning id', [
    name,
    url,
    eventTypes,
  ]);
  return rows[0]!.id;
}

function matchedNames(cache: EndpointCache, eventType: string): string[] {
  return cache
    .current()
    .match(eventType)
    .map((e) => e.name);
}

/** Runs one statement from a connection to the server's main database (for ALTER DATABASE). */
async function onAdmin(text: string): Promise<void> {
  const admin = new pg.Client({ connectionString: BASE_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(text);
  } finally {
    await admin.end();
  }
}

// --- the cache -------------------------------------------------------------------------------

describe('EndpointCache over plain SQL changes', () => {
  let cache: EndpointCache;

  before(async () => {
    cache = newCache().cache;
    const ready = waitForEvent(cache, 'reloaded', (e) => e.reason === 'start');
    await cache.start();
    await ready;
    assert.equal(cache.listening, true);
  });

  after(() => cache.stop());

  test('an inserted endpoint is matched within a second, through NOTIFY', async () => {
    const seen = waitForEvent(cache, 'reloaded', () => matchedNames(cache, 'call.ended').includes('crm'), 1000);
    const committedAt = performance.now();
    const id = await insertRaw('crm', ['call.ended']);
    const [event] = await seen;
    assert.equal(event.reason, 'notify');
    assert.ok(performance.now() - committedAt < 1000);
    assert.equal(cache.get(id)?.url, 'https://example.com/hooks/crm');
    assert.deepEqual(matchedNames(cache, 'call.started'), []);
  });

  test('update … set enabled = false removes it from matches; enabling brings it back', async () => {
    const [{ id }] = (await sql<{ id: string }>("select id from webhooks.endpoints where name = 'crm'")) as [{ id: string }];

    let seen = waitForEvent(cache, 'reloaded', () => !matchedNames(cache, 'call.ended').includes('crm'));
    await sql('update webhooks.endpoints set enabled = false where id = $1', [id]);
    assert.equal((await seen)[0].reason, 'notify');
    assert.equal(cache.get(id), undefined);

    seen = waitForEvent(cache, 'reloaded', () => matchedNames(cache, 'call.ended').includes('crm'));
    await sql('update webhooks.endpoints set enabled = true where id = $1', [id]);
    await seen;
    assert.equal(cache.get(id)?.enabled, true);
  });

  test('a deleted endpoint disappears', async () => {
    const seen = waitForEvent(cache, 'reloaded', () => !matchedNames(cache, 'call.ended').includes('crm'));
    await sql("delete from webhooks.endpoints where name = 'crm'");
    await seen;
    assert.equal(cache.current().size, 0);
  });

  test("'*' subscribers match every type, once, even when they also name a type", async () => {
    const seen = waitForEvent(cache, 'reloaded', () => cache.current().size === 3);
    await sql(`
      insert into webhooks.endpoints (name, url, event_types) values
        ('everything', 'https://example.com/all', array['*']),
        ('everything-too', 'https://example.com/all2', array['call.ended', '*']),
        ('calls', 'https://example.com/calls', array['call.ended'])`);
    await seen;
    assert.deepEqual(matchedNames(cache, 'call.ended').sort(), ['calls', 'everything', 'everything-too']);
    assert.deepEqual(matchedNames(cache, 'recording.ready').sort(), ['everything', 'everything-too']);
    assert.deepEqual(matchedNames(cache, 'not.in.catalog').sort(), ['everything', 'everything-too']);
    const gone = waitForEvent(cache, 'reloaded', () => cache.current().size === 0);
    await sql('delete from webhooks.endpoints');
    await gone;
  });

  test('a burst of committed changes is coalesced into one reload', async () => {
    // A dedicated cache with a wide debounce window: twenty separate commits sent in one round
    // trip all land inside it.
    const { cache: burst } = newCache({ debounceMs: 300 });
    await using _ = burst;
    await burst.start();
    const reasons: string[] = [];
    burst.on('reloaded', (e) => reasons.push(e.reason));

    const seen = waitForEvent(burst, 'reloaded', () => burst.current().size === 20, 3000);
    const statements = Array.from(
      { length: 20 },
      (_v, i) =>
        `begin; insert into webhooks.endpoints (name, url, event_types) values ('burst-${i}', 'https://example.com/b${i}', array['lead.updated']); commit;`,
    );
    await tdb.pool.query(statements.join('\n'));
    await seen;
    // Barrier: one more change and its reload. A second reload for the burst would show up first.
    const barrier = waitForEvent(burst, 'reloaded', () => burst.current().size === 0, 3000);
    await sql("delete from webhooks.endpoints where name like 'burst-%'");
    await barrier;
    assert.deepEqual(reasons, ['notify', 'notify']);
  });

  test('a notification that arrives during a reload causes exactly one more reload', async () => {
    // A pool of its own, so its waiting query can be told apart from other caches' reloads.
    const own = openDatabase(tdb.url, 2, 'ec-busy-reload');
    await using _db = { [Symbol.asyncDispose]: () => own.db.destroy() };
    const { cache: busy } = newCache({ debounceMs: 0, db: own.db });
    await using _ = busy;
    let notifications = 0;
    await busy.start();
    const reasons: string[] = [];
    busy.on('reloaded', (e) => reasons.push(e.reason));

    // Hold a lock that makes the reload's select wait, so the reload stays in flight while more
    // notifications arrive.
    const locker = await tdb.pool.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table webhooks.endpoints in access exclusive mode');

      await sql('select pg_notify($1, $2)', [ENDPOINTS_CHANNEL, 'first']);
      await waitFor(
        async () =>
          (
            await sql<{ n: number }>(
              `select count(*)::int as n from pg_stat_activity
                where datname = current_database() and application_name = 'ec-busy-reload' and wait_event_type = 'Lock'`,
            )
          )[0]!.n === 1,
        { what: 'the reload to wait on the lock', timeoutMs: 5000, intervalMs: 20 },
      );
      // With debounceMs 0 a notification requests its reload before the event is emitted.
      const heard = waitForEvent(busy, 'notification', () => ++notifications === 2);
      await sql('select pg_notify($1, $2)', [ENDPOINTS_CHANNEL, 'second']);
      await sql('select pg_notify($1, $2)', [ENDPOINTS_CHANNEL, 'third']);
      await heard;
      assert.equal(reasons.length, 0, 'the first reload should still be waiting on the lock');
      const two = waitForEvent(busy, 'reloaded', () => reasons.length === 2);
      await locker.query('commit');
      await two;
    } finally {
      await locker.query('rollback').catch(() => {});
      locker.release();
    }
    const barrier = waitForEvent(busy, 'reloaded', () => reasons.length >= 3);
    await sql('select pg_notify($1, $2)', [ENDPOINTS_CHANNEL, 'barrier']);
    await barrier;
    assert.deepEqual(reasons, ['notify', 'notify', 'notify']);
  });
});

describe('EndpointCache when notifications are lost', () => {
  test('a change made without a NOTIFY is picked up by the interval reload', async () => {
    const { cache } = newCache({ reloadIntervalMs: 200 });
    await using _ = cache;
    await cache.start();
    const seen = waitForEvent(cache, 'reloaded', () => matchedNames(cache, 'agent.login').includes('silent'), 3000);
    // The statement trigger is disabled inside the transaction only (DDL is transactional), so
    // this insert sends no NOTIFY while no one else ever sees the trigger disabled.
    const client = await tdb.pool.connect();
    try {
      await client.query('begin');
      await client.query('alter table webhooks.endpoints disable trigger endpoints_notify');
      await client.query(
        "insert into webhooks.endpoints (name, url, event_types) values ('silent', 'https://example.com/silent', array['agent.login'])",
      );
      await client.query('alter table webhooks.endpoints enable trigger endpoints_notify');
      await client.query('commit');
    } finally {
      client.release();
    }
    const [event] = await seen;
    assert.equal(event.reason, 'interval');
  });

  test('a failed reload keeps the previous index, logs a warning, and the next trigger recovers', async () => {
    const { logger, lines } = captureLogger();
    const { cache } = newCache({ reloadIntervalMs: 200, logger });
    await using _ = cache;
    await cache.start();
    assert.deepEqual(matchedNames(cache, 'agent.login'), ['silent']);
    const secret = cache.current().match('agent.login')[0]!.secret;

    const failed = waitForEvent(cache, 'reloadFailed', (e) => e.reason === 'interval', 3000);
    await sql('alter table webhooks.endpoints rename to endpoints_away');
    try {
      await failed;
      assert.deepEqual(matchedNames(cache, 'agent.login'), ['silent']);
    } finally {
      await sql('alter table webhooks.endpoints_away rename to endpoints');
    }
    await waitForEvent(cache, 'reloaded', (e) => e.reason === 'interval', 3000);
    assert.deepEqual(matchedNames(cache, 'agent.login'), ['silent']);

    const warning = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => l.level === 40);
    assert.match(warning?.msg ?? '', /endpoint reload failed/);
    assert.ok(!lines.some((l) => l.includes(secret)), 'a secret reached a log line');
  });
});

describe('EndpointCache LISTEN connection', () => {
  test('reconnects after its backend is terminated, reloads, and hears changes again', async () => {
    const { cache, applicationName } = newCache();
    await using _ = cache;
    await cache.start();

    const lost = waitForEvent(cache, 'listenerError');
    const reconnected = waitForEvent(cache, 'listenerConnected', () => true, 5000);
    const reloaded = waitForEvent(cache, 'reloaded', (e) => e.reason === 'reconnect', 5000);
    const terminated = await sql<{ ok: boolean }>(
      'select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1',
      [applicationName],
    );
    assert.deepEqual(terminated, [{ ok: true }]);
    const [{ retryInMs }] = await lost;
    assert.equal(cache.listening, false);
    assert.ok(retryInMs >= 50 && retryInMs <= 100, `first retry in ${retryInMs} ms`);
    await reconnected;
    await reloaded;
    assert.equal(cache.listening, true);

    const seen = waitForEvent(cache, 'reloaded', () => matchedNames(cache, 'alert.triggered').includes('after-reconnect'));
    await insertRaw('after-reconnect', ['alert.triggered']);
    assert.equal((await seen)[0].reason, 'notify');
  });

  test('keeps retrying with growing delays while the database refuses connections', async () => {
    const { cache, applicationName } = newCache({ reconnectBackoff: { initialMs: 40, maxMs: 1000 } });
    await using _ = cache;
    await cache.start();

    const delays: number[] = [];
    cache.on('listenerError', (e) => delays.push(e.retryInMs));
    await onAdmin(`alter database ${tdb.name} with allow_connections false`);
    try {
      await sql('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [applicationName]);
      await waitFor(() => delays.length >= 3, { what: 'three failed connection attempts', timeoutMs: 5000, intervalMs: 20 });
      assert.equal(cache.listening, false);
    } finally {
      await onAdmin(`alter database ${tdb.name} with allow_connections true`);
    }
    await waitForEvent(cache, 'reloaded', (e) => e.reason === 'reconnect', 5000);
    assert.equal(cache.listening, true);
    // Equal jitter: attempt n waits between half and all of initialMs * 2^n.
    assert.ok(delays[0]! >= 20 && delays[0]! <= 40, `delays ${delays.join(', ')}`);
    assert.ok(delays[1]! >= 40 && delays[1]! <= 80, `delays ${delays.join(', ')}`);
    assert.ok(delays[2]! >= 80 && delays[2]! <= 160, `delays ${delays.join(', ')}`);
  });

  test('stop() can be called twice and closes the LISTEN connection', async () => {
    const { cache, applicationName } = newCache();
    await cache.start();
    const backends = async (): Promise<number> =>
      (await sql<{ n: number }>('select count(*)::int as n from pg_stat_activity where application_name = $1', [applicationName]))[0]!.n;
    assert.equal(await backends(), 1);
    await Promise.all([cache.stop(), cache.stop()]);
    await cache.stop();
    assert.equal(cache.listening, false);
    await waitFor(async () => (await backends()) === 0, { what: 'the LISTEN backend to go away', timeoutMs: 5000, intervalMs: 20 });
  });

  test('aborting the signal stops the cache', async () => {
    const controller = new AbortController();
    const { cache, applicationName } = newCache({ signal: controller.signal });
    await cache.start();
    controller.abort();
    await waitFor(
      async () =>
        !cache.listening &&
        (await sql<{ n: number }>('select count(*)::int as n from pg_stat_activity where application_name = $1', [applicationName]))[0]!
          .n === 0,
      { what: 'the cache to stop', timeoutMs: 5000, intervalMs: 20 },
    );
    await cache.stop();
  });

  test('start() rejects and leaves nothing open when Postgres cannot be reached', async () => {
    const url = new URL(tdb.url);
    url.pathname = '/wh_no_such_database';
    const { cache } = newCache({ databaseUrl: url.toString() });
    await assert.rejects(cache.start(), (err: unknown) => err instanceof pg.DatabaseError && err.code === '3D000');
    assert.equal(cache.listening, false);
  });
});

// --- the store and migration 0001's validation trigger ---------------------------------------

describe('endpoint queries and the validation trigger', () => {
  before(() => sql('delete from webhooks.endpoints'));

  test('a generated secret is whsec_ and 44 characters of base64 that decode to 32 bytes', async () => {
    const e = await createEndpoint(tdb.db, { name: 'generated', url: 'https://example.com/g', eventTypes: ['call.ended'] });
    assert.match(e.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    const encoded = e.secret.slice('whsec_'.length);
    assert.equal(encoded.length, 44);
    assert.equal(Buffer.from(encoded, 'base64').length, 32);
    const other = await createEndpoint(tdb.db, { name: 'generated-2', url: 'https://example.com/g2', eventTypes: ['call.ended'] });
    assert.notEqual(other.secret, e.secret);
  });

  test('stores a trimmed name and a sorted, de-duplicated event list', async () => {
    const e = await createEndpoint(tdb.db, {
      name: '  tidy  ',
      url: 'https://example.com/t',
      eventTypes: ['call.ended', 'agent.login', 'call.ended'],
      secret: 'a-secret-of-sixteen-chars',
    });
    assert.equal(e.name, 'tidy');
    assert.deepEqual(e.eventTypes, ['agent.login', 'call.ended']);
    assert.equal(e.secret, 'a-secret-of-sixteen-chars');
    const star = await createEndpoint(tdb.db, { name: 'star', url: 'https://example.com/s', eventTypes: ['lead.updated', '*'] });
    assert.deepEqual(star.eventTypes, ['*']);
  });

  test('an unknown event type is rejected with the valid ones in the hint', async () => {
    const err = await dbError(
      createEndpoint(tdb.db, { name: 'typo', url: 'https://example.com/x', eventTypes: ['call.ended', 'call.exploded', 'agent.zzz'] }),
    );
    assert.equal(err.code, '23514');
    assert.equal(err.message, 'webhooks.endpoints: unknown event type(s) agent.zzz, call.exploded for endpoint "typo"');
    assert.equal(
      err.hint,
      'Valid event types: agent.login, agent.logout, agent.pause, agent.resume, alert.triggered, call.ended, call.started, lead.updated, recording.ready, or * for all.',
    );
  });

  test('a URL that is not http(s) is rejected', async () => {
    const err = await dbError(createEndpoint(tdb.db, { name: 'ftp', url: 'ftp://example.com/x', eventTypes: ['call.ended'] }));
    assert.equal(err.code, '23514');
    assert.equal(err.message, 'webhooks.endpoints: url "ftp://example.com" is not an http(s) URL (endpoint "ftp")');
    assert.match(err.hint ?? '', /https:\/\/crm\.example\.com/);
  });

  test('an empty event list is rejected', async () => {
    const err = await dbError(createEndpoint(tdb.db, { name: 'nothing', url: 'https://example.com/x', eventTypes: [] }));
    assert.equal(err.code, '23514');
    assert.equal(err.message, 'webhooks.endpoints: event_types must be a non-empty list without nulls (endpoint "nothing")');
    assert.match(err.hint ?? '', /array\['\*'\]/);
  });

  test('a short secret and an empty name are rejected', async () => {
    let err = await dbError(
      createEndpoint(tdb.db, { name: 'short', url: 'https://example.com/x', eventTypes: ['*'], secret: 'too-short' }),
    );
    assert.equal(err.code, '23514');
    assert.match(err.message, /secret must be at least 16 characters/);
    err = await dbError(createEndpoint(tdb.db, { name: '   ', url: 'https://example.com/x', eventTypes: ['*'] }));
    assert.equal(err.message, 'webhooks.endpoints: name must not be empty');
  });

  test('require_https, written by writeSettings, rejects plain http URLs until turned off', async () => {
    await writeSettings(tdb.db, { requireHttps: true });
    try {
      assert.deepEqual(await sql("select value from webhooks.settings where key = 'require_https'"), [{ value: 'true' }]);
      const err = await dbError(createEndpoint(tdb.db, { name: 'plain', url: 'http://example.com/x', eventTypes: ['*'] }));
      assert.equal(err.code, '23514');
      assert.equal(
        err.message,
        'webhooks.endpoints: url "http://example.com" uses plain http, but this installation requires https (endpoint "plain")',
      );
      await createEndpoint(tdb.db, { name: 'secure', url: 'https://example.com/x', eventTypes: ['*'] });

      // Writing the same value again leaves the row alone.
      const [before] = await sql<{ updated_at: Date }>("select updated_at from webhooks.settings where key = 'require_https'");
      await writeSettings(tdb.db, { requireHttps: true });
      const [again] = await sql<{ updated_at: Date }>("select updated_at from webhooks.settings where key = 'require_https'");
      assert.deepEqual(again, before);
    } finally {
      await writeSettings(tdb.db, { requireHttps: false });
    }
    assert.deepEqual(await sql("select value from webhooks.settings where key = 'require_https'"), [{ value: 'false' }]);
    const plain = await createEndpoint(tdb.db, { name: 'plain', url: 'http://example.com/x', eventTypes: ['*'] });
    assert.equal(plain.url, 'http://example.com/x');
  });

  test('writeSettings inserts the row when it is missing', async () => {
    await sql("delete from webhooks.settings where key = 'require_https'");
    await writeSettings(tdb.db, { requireHttps: false });
    assert.deepEqual(await sql("select value from webhooks.settings where key = 'require_https'"), [{ value: 'false' }]);
  });

  test('findEndpointById finds enabled and disabled endpoints, null when deleted or not a uuid', async () => {
    const e = await createEndpoint(tdb.db, { name: 'lookup', url: 'https://example.com/l', eventTypes: ['call.started'] });
    assert.deepEqual(await findEndpointById(tdb.db, e.id), e);

    assert.equal(await disableEndpoint(tdb.db, e.id, '410 Gone'), true);
    assert.equal((await findEndpointById(tdb.db, e.id))?.enabled, false);
    assert.ok(!(await findEnabledEndpoints(tdb.db)).some((x) => x.id === e.id));

    await sql('delete from webhooks.endpoints where id = $1', [e.id]);
    assert.equal(await findEndpointById(tdb.db, e.id), null);
    assert.equal(await findEndpointById(tdb.db, 'not-a-uuid'), null);
  });

  test('disableEndpoint records the reason once, keeps an earlier one, and enabling clears it', async () => {
    const e = await createEndpoint(tdb.db, { name: 'gone', url: 'https://example.com/gone', eventTypes: ['call.started'] });
    const reason = async (): Promise<unknown> =>
      (await sql<{ disabled_reason: string | null }>('select disabled_reason from webhooks.endpoints where id = $1', [e.id]))[0]
        ?.disabled_reason;
    assert.equal(await disableEndpoint(tdb.db, e.id, 'HTTP 410 Gone'), true);
    assert.equal(await reason(), 'HTTP 410 Gone');
    assert.equal(await disableEndpoint(tdb.db, e.id, 'something else'), false);
    assert.equal(await reason(), 'HTTP 410 Gone');
    await sql('update webhooks.endpoints set enabled = true where id = $1', [e.id]);
    assert.equal(await reason(), null);
    assert.equal(await disableEndpoint(tdb.db, '00000000-0000-0000-0000-000000000000', 'x'), false);
  });

  test('the previous secret is read with its expiry and signed with during the overlap', async () => {
    const e = await createEndpoint(tdb.db, { name: 'rotating', url: 'https://example.com/r', eventTypes: ['*'] });
    await sql(
      "update webhooks.endpoints set previous_secret = secret, secret = webhooks.generate_secret(), previous_secret_expires_at = now() + interval '1 hour' where id = $1",
      [e.id],
    );
    const rotated = (await findEndpointById(tdb.db, e.id))!;
    assert.equal(rotated.previousSecret, e.secret);
    assert.notEqual(rotated.secret, e.secret);
    assert.equal(typeof rotated.previousSecretExpiresAt, 'number');
    assert.deepEqual(signingSecrets(rotated, Date.now()), [rotated.secret, e.secret]);
    assert.deepEqual(signingSecrets(rotated, rotated.previousSecretExpiresAt!), [rotated.secret]);
  });

  test('disableEndpoint works on a plain-http endpoint after require_https was turned on', async () => {
    const e = await createEndpoint(tdb.db, { name: 'legacy-http', url: 'http://example.com/legacy', eventTypes: ['*'] });
    await writeSettings(tdb.db, { requireHttps: true });
    try {
      assert.equal(await disableEndpoint(tdb.db, e.id, 'HTTP 410 Gone'), true);
    } finally {
      await writeSettings(tdb.db, { requireHttps: false });
    }
  });
});

test('null entries, urls with spaces and malformed whsec_ secrets are rejected', async () => {
  await using tdb2 = await createTestDatabase('validation2');
  const insert = (values: Record<string, unknown>) =>
    tdb2.pool.query(
      'insert into webhooks.endpoints (name, url, event_types, secret) values ($1, $2, $3, coalesce($4, webhooks.generate_secret()))',
      [values.name, values.url, values.types, values.secret ?? null],
    );
  await assert.rejects(insert({ name: 'n1', url: 'https://a.example/x', types: ['call.ended', null] }), /without nulls/);
  await assert.rejects(insert({ name: 'n2', url: 'https://a.example/x y', types: ['*'] }), /is not an http\(s\) URL/);
  await assert.rejects(
    insert({ name: 'n3', url: 'https://a.example/x', types: ['*'], secret: 'whsec_not base64 at all!!' }),
    /must be base64/,
  );
});
