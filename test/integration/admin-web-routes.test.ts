import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { createAdminApp } from '../../src/admin/admin-app.ts';
import { LiveUpdates } from '../../src/admin/live-updates.ts';
import { loadAdminConfig } from '../../src/config.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

// The web admin's routes in process (Hono's app.request) on a real database: auth, CSRF,
// escaping, headers and optimistic concurrency.

const TOKEN = 'test-admin-token-0123456789abcdef-0123456789';
const ORIGIN = 'http://localhost';
let db: TestDatabase;
let live: LiveUpdates;
let app: ReturnType<typeof createAdminApp>;

before(async () => {
  db = await createTestDatabase('admin_web_routes');
  live = new LiveUpdates(null);
  app = createAdminApp({
    config: loadAdminConfig({ ADMIN_TOKEN: TOKEN }),
    db: db.db,
    logger: pino({ level: 'silent' }),
    live,
    sendTestEvent: () => Promise.reject(new Error('not used here')),
  });
});

after(async () => {
  await live?.stop();
  await db?.drop();
});

async function addEndpoint(name: string): Promise<string> {
  const row = await db.db
    .insertInto('webhooks.endpoints')
    .values({ name, url: 'https://crm.example.com/hooks/dialer', event_types: ['call.ended'] })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function signIn(): Promise<string> {
  const res = await app.request('/sign-in', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
    body: new URLSearchParams({ token: TOKEN, next: '/webhooks' }),
  });
  assert.equal(res.status, 303);
  const setCookie = res.headers.get('set-cookie');
  assert.ok(setCookie, 'sign-in sets a cookie');
  return setCookie.split(';')[0]!;
}

function csrfTokenIn(page: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(page);
  assert.ok(m, 'the page has a CSRF field');
  return m[1]!;
}

function post(path: string, cookie: string, fields: Record<string, string>, origin = ORIGIN): Promise<Response> {
  return Promise.resolve(
    app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin, cookie },
      body: new URLSearchParams(fields),
    }),
  );
}

async function enabledOf(id: string): Promise<boolean> {
  const row = await db.db.selectFrom('webhooks.endpoints').select('enabled').where('id', '=', id).executeTakeFirstOrThrow();
  return row.enabled;
}

describe('authentication', () => {
  test('a page without auth redirects to the sign-in page, and a script without a token gets 401', async () => {
    const page = await app.request('/webhooks', { headers: { accept: 'text/html' } });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), '/sign-in?next=%2Fwebhooks');
    const script = await app.request('/webhooks');
    assert.equal(script.status, 401);
    const wrong = await app.request('/webhooks', { headers: { authorization: `Bearer ${'x'.repeat(40)}` } });
    assert.equal(wrong.status, 401);
  });

  test('a wrong token on the sign-in page sets no cookie', async () => {
    const res = await app.request('/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
      body: new URLSearchParams({ token: 'not-the-token-not-the-token-not-the-token' }),
    });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('set-cookie'), null);
  });

  test('the session cookie is signed, HttpOnly, SameSite=Strict and expires; a tampered one is refused', async () => {
    const res = await app.request('/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
      body: new URLSearchParams({ token: TOKEN }),
    });
    const setCookie = res.headers.get('set-cookie')!;
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.match(setCookie, /Max-Age=43200/);
    const cookie = setCookie.split(';')[0]!;
    assert.equal((await app.request('/webhooks', { headers: { cookie } })).status, 200);
    const [name, value] = cookie.split('=') as [string, string];
    const tampered = `${name}=${decodeURIComponent(value).replace(/^\d/, (d) => String((Number(d) + 1) % 10))}`;
    assert.equal((await app.request('/webhooks', { headers: { cookie: tampered } })).status, 401);
  });

  test('a bearer token works for scripts, without a CSRF token', async () => {
    const id = await addEndpoint(`bearer-${randomUUID().slice(0, 8)}`);
    const res = await app.request(`/webhooks/${id}/enabled`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ enabled: 'false' }),
    });
    assert.equal(res.status, 303);
    assert.equal(await enabledOf(id), false);
  });
});

describe('CSRF', () => {
  test('a POST without the CSRF token, with a wrong one, or from another origin is rejected and changes nothing', async () => {
    const cookie = await signIn();
    const id = await addEndpoint(`csrf-${randomUUID().slice(0, 8)}`);
    const token = csrfTokenIn(await (await app.request('/webhooks', { headers: { cookie } })).text());

    assert.equal((await post(`/webhooks/${id}/enabled`, cookie, { enabled: 'false' })).status, 403);
    assert.equal((await post(`/webhooks/${id}/enabled`, cookie, { enabled: 'false', _csrf: `${token}x` })).status, 403);
    assert.equal((await post(`/webhooks/${id}/enabled`, cookie, { enabled: 'false', _csrf: token }, 'https://evil.example')).status, 403);
    assert.equal(await enabledOf(id), true, 'nothing changed');

    const ok = await post(`/webhooks/${id}/enabled`, cookie, { enabled: 'false', _csrf: token });
    assert.equal(ok.status, 303);
    assert.equal(await enabledOf(id), false);
  });
});

describe('escaping and headers', () => {
  test('a hostile endpoint name and response body are escaped on every page', async () => {
    const name = `<script>alert("name")</script>${randomUUID().slice(0, 4)}`;
    const id = await addEndpoint(name);
    const deliveryId = randomUUID();
    const body = '<img src=x onerror=alert("body")>';
    await db.db
      .insertInto('webhooks.deliveries')
      .values({
        id: deliveryId,
        endpoint_id: id,
        event_id: 'ev-1',
        event_type: 'call.ended',
        status: 'dead',
        payload: Buffer.from('{"a":"</pre><b>"}'),
      })
      .execute();
    await db.db
      .insertInto('webhooks.attempts')
      .values({
        delivery_id: deliveryId,
        endpoint_id: id,
        series: 1,
        attempt: 1,
        started_at: new Date(),
        duration_ms: 12,
        url: 'https://crm.example.com/hooks/dialer',
        outcome: 'failed',
        status_code: 500,
        error_kind: 'http_status',
        error: 'HTTP 500',
        response_body: body,
      })
      .execute();
    const headers = { authorization: `Bearer ${TOKEN}` };
    for (const path of ['/webhooks', `/webhooks/${id}`, `/deliveries/${deliveryId}`, '/troubleshooting', `/webhooks/${id}/edit`]) {
      const res = await app.request(path, { headers });
      assert.equal(res.status, 200, path);
      const text = await res.text();
      assert.ok(!text.includes('<script>alert'), `${path}: the name is not raw HTML`);
      assert.ok(!text.includes('<img src=x'), `${path}: the response body is not raw HTML`);
      assert.ok(!text.includes('</pre><b>'), `${path}: the payload is not raw HTML`);
      assert.ok(text.includes('&lt;script&gt;alert'), `${path}: the name is shown escaped`);
    }
    const delivery = await (await app.request(`/deliveries/${deliveryId}`, { headers })).text();
    assert.ok(delivery.includes('&lt;img src=x onerror=alert(&quot;body&quot;)&gt;'), 'the response body is shown, escaped');
  });

  test('pages carry a CSP without inline script, no-store and the other security headers', async () => {
    const res = await app.request('/webhooks', { headers: { authorization: `Bearer ${TOKEN}` } });
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    const signIn = await app.request('/sign-in');
    assert.equal(signIn.headers.get('cache-control'), 'no-store');
    assert.ok(!/<script>/.test(await signIn.text()), 'no inline script');
  });
});

describe('forms', () => {
  test('editing after a concurrent change in SQL gives 409, shows the change and writes nothing', async () => {
    const cookie = await signIn();
    const id = await addEndpoint(`edit-${randomUUID().slice(0, 8)}`);
    const form = await (await app.request(`/webhooks/${id}/edit`, { headers: { cookie } })).text();
    const updatedAt = /name="updated_at" value="([^"]+)"/.exec(form)![1]!;
    await db.db.updateTable('webhooks.endpoints').set({ url: 'https://changed-in-sql.example.com/x' }).where('id', '=', id).execute();

    const res = await post(`/webhooks/${id}`, cookie, {
      _csrf: csrfTokenIn(form),
      updated_at: updatedAt,
      name: 'edited-in-browser',
      url: 'https://browser.example.com/x',
      event_types: 'call.ended',
      enabled: 'true',
    });
    assert.equal(res.status, 409);
    const text = await res.text();
    assert.match(text, /Someone else changed this webhook/);
    assert.match(text, /changed-in-sql\.example\.com/);
    const row = await db.db.selectFrom('webhooks.endpoints').select(['name', 'url']).where('id', '=', id).executeTakeFirstOrThrow();
    assert.equal(row.url, 'https://changed-in-sql.example.com/x');
    assert.notEqual(row.name, 'edited-in-browser');
  });

  test("the database's validation message is shown beside the field it names, with the values kept", async () => {
    const cookie = await signIn();
    const form = await (await app.request('/webhooks/new', { headers: { cookie } })).text();
    const res = await post('/webhooks', cookie, {
      _csrf: csrfTokenIn(form),
      name: 'bad-url',
      url: 'not a url at all',
      event_types: 'call.ended',
      enabled: 'true',
    });
    assert.equal(res.status, 422);
    const text = await res.text();
    // Beside the URL field: the trigger names the column it rejected (pg error field `column`).
    assert.match(text, /<div class="field-error" id="url-error" role="alert">[^<]*is not an http\(s\) URL/);
    assert.match(text, /value="not a url at all"/);
  });

  test('the per-key ordering switch is stored, shown on the webhook page and checked again in the edit form', async () => {
    const cookie = await signIn();
    const form = await (await app.request('/webhooks/new', { headers: { cookie } })).text();
    assert.match(form, /name="ordering" value="per_key"/);
    const name = `ordered-${randomUUID().slice(0, 8)}`;
    const res = await post('/webhooks', cookie, {
      _csrf: csrfTokenIn(form),
      name,
      url: 'https://ordered.example.com/x',
      event_types: 'call.ended',
      enabled: 'true',
      ordering: 'per_key',
    });
    assert.equal(res.status, 303);
    const row = await db.db.selectFrom('webhooks.endpoints').select(['id', 'ordering']).where('name', '=', name).executeTakeFirstOrThrow();
    assert.equal(row.ordering, 'per_key');
    const pageText = await (await app.request(`/webhooks/${row.id}`, { headers: { cookie } })).text();
    assert.match(pageText, /id="ordering">Delivered in order per key/);
    const edit = await (await app.request(`/webhooks/${row.id}/edit`, { headers: { cookie } })).text();
    assert.match(edit, /name="ordering" value="per_key" checked/);
  });

  test('the rate and in-flight limits are stored, shown, kept in the edit form, cleared when emptied, and a bad one is refused beside its field', async () => {
    const cookie = await signIn();
    const form = await (await app.request('/webhooks/new', { headers: { cookie } })).text();
    const name = `limited-${randomUUID().slice(0, 8)}`;
    const fields = { name, url: 'https://limited.example.com/x', event_types: 'call.ended', enabled: 'true' };
    const res = await post('/webhooks', cookie, { _csrf: csrfTokenIn(form), ...fields, max_per_second: '2.5', max_in_flight: '3' });
    assert.equal(res.status, 303);
    const limits = () =>
      db.db
        .selectFrom('webhooks.endpoints')
        .select(['id', 'max_per_second', 'max_in_flight', 'updated_at'])
        .where('name', '=', name)
        .executeTakeFirstOrThrow();
    const row = await limits();
    assert.equal(Number(row.max_per_second), 2.5);
    assert.equal(row.max_in_flight, 3);
    const pageText = await (await app.request(`/webhooks/${row.id}`, { headers: { cookie } })).text();
    assert.match(pageText, /id="endpoint-limits">at most 2.5 per second, at most 3 at once/);
    const edit = await (await app.request(`/webhooks/${row.id}/edit`, { headers: { cookie } })).text();
    assert.match(edit, /name="max_per_second"[^>]*value="2.5"/);
    assert.match(edit, /name="max_in_flight"[^>]*value="3"/);

    // Not a number: refused in the form, nothing written.
    const bad = await post(`/webhooks/${row.id}`, cookie, {
      _csrf: csrfTokenIn(edit),
      ...fields,
      max_per_second: 'fast',
      max_in_flight: '1.5',
    });
    assert.equal(bad.status, 422);
    const badText = await bad.text();
    assert.match(badText, /id="max_per_second-error" role="alert">\s*fast is not a number/);
    assert.match(badText, /id="max_in_flight-error" role="alert">\s*1.5 is not a whole number/);
    // Out of range: the database's trigger refuses it, and its message lands beside the field.
    const zero = await post(`/webhooks/${row.id}`, cookie, {
      _csrf: csrfTokenIn(edit),
      ...fields,
      max_per_second: '0',
      max_in_flight: '3',
    });
    assert.equal(zero.status, 422);
    assert.match(await zero.text(), /id="max_per_second-error" role="alert"/);
    assert.equal(Number((await limits()).max_per_second), 2.5, 'a refused change writes nothing');

    // Emptied: no limits.
    const cleared = await post(`/webhooks/${row.id}`, cookie, {
      _csrf: csrfTokenIn(edit),
      ...fields,
      max_per_second: '',
      max_in_flight: '',
    });
    assert.equal(cleared.status, 303);
    const after = await limits();
    assert.equal(after.max_per_second, null);
    assert.equal(after.max_in_flight, null);
  });

  test('a name already taken is shown beside the Name field', async () => {
    const cookie = await signIn();
    const name = `taken-${randomUUID().slice(0, 8)}`;
    await addEndpoint(name);
    const form = await (await app.request('/webhooks/new', { headers: { cookie } })).text();
    const res = await post('/webhooks', cookie, { _csrf: csrfTokenIn(form), name, url: 'https://x.example.com/', all_events: 'true' });
    assert.equal(res.status, 422);
    assert.match(await res.text(), /id="name-error"/);
  });
});

describe('delivery log and troubleshooting', () => {
  async function attempts(endpointId: string, n: number, startMs: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const deliveryId = randomUUID();
      const failed = i % 3 === 0;
      await db.db
        .insertInto('webhooks.deliveries')
        .values({
          id: deliveryId,
          endpoint_id: endpointId,
          event_id: `ev-${i}`,
          event_type: i % 2 ? 'call.ended' : 'call.started',
          status: failed ? 'dead' : 'succeeded',
        })
        .execute();
      await db.db
        .insertInto('webhooks.attempts')
        .values({
          delivery_id: deliveryId,
          endpoint_id: endpointId,
          series: 1,
          attempt: 1,
          // Pairs of attempts share a time to the microsecond: the cursor must still order them.
          started_at: new Date(startMs + Math.floor(i / 2) * 1000),
          duration_ms: 10,
          url: 'https://crm.example.com/hooks/dialer',
          outcome: failed ? 'failed' : 'succeeded',
          status_code: failed ? 503 : 200,
          error_kind: failed ? 'http_status' : null,
          error: failed ? 'HTTP 503' : null,
          response_body: `body-${i}`,
        })
        .execute();
    }
  }

  const headers = { authorization: `Bearer ${TOKEN}` };
  const bodiesOn = (page: string): string[] => [...page.matchAll(/body-(\d+)/g)].map((m) => m[1]!);

  test('the delivery log pages by keyset through every attempt once, newest first, and filters by status', async () => {
    const id = await addEndpoint(`log-${randomUUID().slice(0, 8)}`);
    await attempts(id, 30, Date.now() - 3_600_000);
    const first = await (await app.request(`/webhooks/${id}`, { headers })).text();
    const next = /href="([^"]*after=[^"#]*)/.exec(first)?.[1]?.replaceAll('&amp;', '&');
    assert.ok(next, 'a link to older attempts');
    const second = await (await app.request(next, { headers })).text();
    assert.doesNotMatch(second, /after=/, 'the second page is the last');
    const seen = [...bodiesOn(first), ...bodiesOn(second)];
    assert.equal(bodiesOn(first).length, 25);
    assert.equal(new Set(seen).size, 30, 'every attempt once');
    assert.deepEqual(seen.slice(0, 2).sort(), ['28', '29'], 'newest first');

    const failed = await (await app.request(`/webhooks/${id}?status=failed`, { headers })).text();
    assert.deepEqual(
      bodiesOn(failed).sort((a, b) => Number(a) - Number(b)),
      ['0', '3', '6', '9', '12', '15', '18', '21', '24', '27'],
    );
    const started = await (await app.request(`/webhooks/${id}?event=call.started&status=succeeded`, { headers })).text();
    assert.ok(bodiesOn(started).every((b) => Number(b) % 2 === 0 && Number(b) % 3 !== 0));
  });

  test('Recover says how many deliveries it will redeliver before it is confirmed', async () => {
    const id = await addEndpoint(`recover-${randomUUID().slice(0, 8)}`);
    await attempts(id, 6, Date.now() - 60_000);
    await db.db
      .updateTable('webhooks.deliveries')
      .set({ payload: Buffer.from('{}') })
      .where('endpoint_id', '=', id)
      .execute();
    const page = await (await app.request(`/webhooks/${id}/recover?since=1h`, { headers })).text();
    assert.match(page, /This will redeliver <strong>2<\/strong> deliveries/);
    const stillDead = await db.db
      .selectFrom('webhooks.deliveries')
      .select('id')
      .where('endpoint_id', '=', id)
      .where('status', '=', 'dead')
      .execute();
    assert.equal(stillDead.length, 2, 'nothing is redelivered before the confirmation');
  });

  test('troubleshooting says a disabled endpoint is why no deliveries appear', async () => {
    const name = `off-${randomUUID().slice(0, 8)}`;
    const id = await addEndpoint(name);
    await db.db
      .updateTable('webhooks.endpoints')
      .set({ enabled: false, disabled_reason: '410 Gone from the endpoint' })
      .where('id', '=', id)
      .execute();
    const page = await (await app.request('/troubleshooting', { headers })).text();
    const section = page.slice(page.indexOf(`id="ep-${id}"`));
    assert.match(section.slice(0, 3000), /The webhook is <strong>disabled<\/strong> \(410 Gone from the endpoint\)/);
  });

  test('the list and the endpoint page show since when every attempt failed and the auto-disable reason; enabling clears both', async () => {
    const id = await addEndpoint(`streak-${randomUUID().slice(0, 8)}`);
    // Attempts 0, 3 and 6 fail, the rest succeed: the streak starts after the last success (attempt 5).
    await attempts(id, 7, Date.now() - 600_000);
    const list = await (await app.request('/webhooks', { headers })).text();
    const row = list.slice(list.indexOf(id));
    assert.match(row.slice(0, 4000), /Failing since .*\(1 failed\)/s);
    const page = await (await app.request(`/webhooks/${id}`, { headers })).text();
    assert.match(page, /Failing since/);
    const reason = 'auto-disabled: every attempt failed since 2026-03-07T14:00:00.000Z (10 dead deliveries); last error: HTTP 503';
    await db.db.updateTable('webhooks.endpoints').set({ enabled: false, disabled_reason: reason }).where('id', '=', id).execute();
    assert.match(await (await app.request(`/webhooks/${id}`, { headers })).text(), /Disabled: auto-disabled: every attempt failed since/);
    await db.db.updateTable('webhooks.endpoints').set({ enabled: true }).where('id', '=', id).execute();
    const after = await (await app.request(`/webhooks/${id}`, { headers })).text();
    assert.doesNotMatch(after, /Failing since|Disabled: auto-disabled/, 'enabled again: a new streak, not failing yet');
  });
});
