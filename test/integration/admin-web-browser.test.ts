import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { openAdminBrowserFixture, type AdminBrowserFixture } from '../support/admin-browser.ts';
import type { DispatcherFixture } from '../support/service.ts';
import { waitFor } from '../support/wait-for.ts';

// The web admin in a real browser (Debian's chromium through playwright-core) against a real
// dispatcher, Kafka, Postgres and a loopback receiver.

let fx: AdminBrowserFixture;
let f: DispatcherFixture;

before(async () => {
  // One quick retry, so a failing endpoint's delivery is dead within a second.
  fx = await openAdminBrowserFixture('admin_web_browser', {
    RETRY_DELAYS: '100ms',
    REQUIRE_HTTPS: 'false',
    DELIVERY_ALLOW_NETWORKS: '127.0.0.0/8',
  });
  f = fx.f;
});

after(async () => {
  await fx?.close();
});

/** Errors the browser reported (CSP violations, failed scripts) on the pages of this test. */
let consoleErrors: string[] = [];

function signedIn(): Promise<{ context: BrowserContext; page: Page }> {
  consoleErrors = [];
  return fx.signedIn({
    onPage: (page) => {
      page.on('console', (msg) => {
        if (msg.type() === 'error') consoleErrors.push(msg.text());
      });
      page.on('pageerror', (err) => consoleErrors.push(err.message));
    },
  });
}

function callEnded(callId: string): string {
  return JSON.stringify({
    event: 'call.ended',
    timestamp: new Date().toISOString(),
    data: { call_id: callId, agent: 'jsmith', phone_number: '5551234567', duration: 180, disposition: 'SALE', campaign: 'Q1-Sales' },
  });
}

/** Reloads `page` until `selector` shows up (the delivery log is read on each load). */
async function reloadUntil(page: Page, selector: string, what: string): Promise<void> {
  await waitFor(
    async () => {
      await page.reload();
      return (await page.locator(selector).count()) > 0;
    },
    { what, timeoutMs: 30_000, intervalMs: 250 },
  );
}

test("the spec's five steps in the browser add a webhook that receives a Kafka event, shown with status 200 in its delivery log", async () => {
  const { context, page } = await signedIn();
  const url = f.receiver.route('/crm', 'secret-checked-elsewhere', 200);

  await page.getByRole('link', { name: 'Add Webhook' }).first().click(); // 1. Click Add Webhook
  await page.getByLabel('Name').fill('crm-sync');
  await page.getByLabel('URL').fill(url); // 2. Enter the destination URL
  await page.getByRole('checkbox', { name: /call\.ended/ }).check(); // 3. Select events
  const enabled = page.getByRole('switch', { name: 'Enabled' });
  await enabled.uncheck(); // 4. Enable or disable with a toggle
  await enabled.check();
  await page.getByRole('button', { name: 'Save' }).click(); // 5. Click Save

  await page.waitForURL(/\/webhooks\/[0-9a-f-]{36}\?notice=created/);
  assert.equal(
    await page
      .locator('h1')
      .first()
      .textContent()
      .then((t) => t?.includes('crm-sync')),
    true,
  );
  const row = await f.db.db.selectFrom('webhooks.endpoints').selectAll().where('name', '=', 'crm-sync').executeTakeFirstOrThrow();
  assert.deepEqual(row.event_types, ['call.ended']);
  assert.equal(row.enabled, true);

  // The dispatcher reloads its endpoints on the NOTIFY; produce until the event is delivered.
  await waitFor(
    async () => {
      await f.kafka.produce(f.input, [{ value: callEnded(`e2e-${randomUUID()}`) }]);
      return f.receiver.to('/crm').length > 0;
    },
    { what: 'a delivery to the new endpoint', timeoutMs: 30_000, intervalMs: 1000 },
  );
  const received = f.receiver.to('/crm')[0]!;
  assert.equal(received.json.event, 'call.ended');

  await reloadUntil(page, '#delivery-log tr.attempt.succeeded .badge.green', 'the attempt in the delivery log');
  const firstRow = page.locator('#delivery-log tr.attempt').last();
  assert.match((await firstRow.textContent()) ?? '', /call\.ended[\s\S]*200/);

  // "Send test event" on the same page: a real signed request, its status and body shown in place.
  await page.getByRole('button', { name: 'Send test event' }).click();
  await page.locator('#test-result .badge.green').waitFor();
  assert.equal(await page.locator('#test-result .badge').first().textContent(), '200');
  const webhookId = await page.locator('#test-webhook-id').textContent();
  assert.ok(
    f.receiver.to('/crm').some((r) => r.headers['webhook-id'] === webhookId),
    'the receiver got the test event',
  );
  assert.deepEqual(consoleErrors, [], 'no CSP violation or script error in the browser');
  await context.close();
});

test('an SQL update appears live on the Webhooks page without a reload', async () => {
  const id = (
    await f.db.db
      .insertInto('webhooks.endpoints')
      .values({ name: 'live-before', url: f.receiver.route('/live', 's', 200), event_types: ['agent.login'] })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
  const { context, page } = await signedIn();
  await page.getByRole('link', { name: 'live-before' }).waitFor();
  // The page never reloads (its URL and a marker set on it stay). Until its event stream is open a
  // change would pass unseen, so the same UPDATE is repeated (each one NOTIFYs) until it shows.
  await page.evaluate('window.__notReloaded = true');
  const rename = () =>
    f.db.db.updateTable('webhooks.endpoints').set({ name: 'renamed-in-sql', enabled: false }).where('id', '=', id).execute();
  await waitFor(
    async () => {
      await rename();
      return (await page.getByRole('link', { name: 'renamed-in-sql' }).count()) > 0;
    },
    { what: 'the SQL rename on the open page', timeoutMs: 20_000, intervalMs: 500 },
  );
  assert.equal(await page.evaluate('window.__notReloaded === true'), true, 'updated in place, not reloaded');
  assert.equal(await page.getByRole('switch', { name: 'Enabled: renamed-in-sql' }).getAttribute('aria-checked'), 'false');
  assert.equal(await page.getByRole('link', { name: 'live-before' }).count(), 0);

  // An endpoint's own page follows SQL changes too.
  await page.getByRole('link', { name: 'renamed-in-sql' }).click();
  await page.locator('#endpoint-title .pill.grey').waitFor();
  await waitFor(
    async () => {
      await f.db.db.updateTable('webhooks.endpoints').set({ enabled: true }).where('id', '=', id).execute();
      return (await page.locator('#endpoint-title .pill.green').count()) > 0;
    },
    { what: 'the SQL enable on the open endpoint page', timeoutMs: 20_000, intervalMs: 500 },
  );
  assert.deepEqual(consoleErrors, [], 'no CSP violation or script error in the browser');
  await context.close();
});

test('the Enabled toggle on the Webhooks page works in place', async () => {
  await f.db.db
    .insertInto('webhooks.endpoints')
    .values({ name: 'toggle-me', url: f.receiver.route('/toggle', 's', 200), event_types: ['*'] })
    .execute();
  const { context, page } = await signedIn();
  const toggle = page.getByRole('switch', { name: 'Enabled: toggle-me' });
  assert.equal(await toggle.getAttribute('aria-checked'), 'true');
  await toggle.click();
  await page.locator('[aria-label="Enabled: toggle-me"][aria-checked="false"]').waitFor();
  const row = await f.db.db
    .selectFrom('webhooks.endpoints')
    .select(['enabled', 'disabled_reason'])
    .where('name', '=', 'toggle-me')
    .executeTakeFirstOrThrow();
  assert.equal(row.enabled, false);
  assert.match(row.disabled_reason ?? '', /web admin/);
  await context.close();
});

test('a dead delivery is redelivered from its page and then succeeds', async () => {
  // Fails twice (attempt 1 and its one retry: dead), then answers 200.
  const url = f.receiver.route('/flaky', 's', (n) => ({ status: n <= 2 ? 500 : 200, body: n <= 2 ? 'down for maintenance' : 'ok' }));
  const endpoint = await f.db.db
    .insertInto('webhooks.endpoints')
    .values({ name: 'flaky', url, event_types: ['call.ended'] })
    .returning('id')
    .executeTakeFirstOrThrow();
  const { context, page } = await signedIn();
  await waitFor(
    async () => {
      await f.kafka.produce(f.input, [{ value: callEnded(`dead-${randomUUID()}`) }]);
      return f.receiver.to('/flaky').length > 0;
    },
    { what: 'a first attempt to the flaky endpoint', timeoutMs: 30_000, intervalMs: 1000 },
  );
  const dead = await waitFor(
    () =>
      f.db.db
        .selectFrom('webhooks.deliveries')
        .select('id')
        .where('endpoint_id', '=', endpoint.id)
        .where('status', '=', 'dead')
        .executeTakeFirst(),
    { what: 'a dead delivery', timeoutMs: 30_000 },
  );
  await page.goto(`/webhooks/${endpoint.id}`);
  await page.locator(`#delivery-log a[href="/deliveries/${dead.id}"]`).first().click();
  await page.waitForURL(`**/deliveries/${dead.id}`);
  assert.equal(await page.locator('#delivery-status').textContent(), 'dead');
  assert.match((await page.locator('ol.timeline').textContent()) ?? '', /down for maintenance/);

  await page.getByRole('button', { name: 'Redeliver' }).click();
  await page.waitForURL(/notice=redelivered/);
  await reloadUntil(page, '#delivery-status:text("succeeded")', 'the redelivery to succeed');
  assert.ok(f.receiver.to('/flaky').some((r) => r.headers['webhook-id'] === dead.id));
  await context.close();
});

test('signing out ends the session: pages send the browser back to the sign-in page', async () => {
  const { context, page } = await signedIn();
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'wh_admin_session');
  assert.ok(session);
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  assert.ok(session.expires > Date.now() / 1000, 'the cookie expires');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL('**/sign-in?signed_out=1');
  await page.getByText('You are signed out.').waitFor();
  await page.goto('/webhooks');
  await page.waitForURL('**/sign-in?next=%2Fwebhooks');
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await context.close();
});

test('without JavaScript the sign-in, Add Webhook form and the Enabled toggle still work', async () => {
  const { context, page } = await fx.signedIn({ javaScriptEnabled: false });
  await page.getByRole('link', { name: 'Add Webhook' }).first().click();
  await page.getByLabel('Name').fill('no-js');
  await page.getByLabel('URL').fill(f.receiver.route('/no-js', 's', 200));
  await page.getByRole('checkbox', { name: 'All events' }).check();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/notice=created/);
  await page.getByRole('switch', { name: 'Enabled: no-js' }).click();
  await page.locator('[aria-label="Enabled: no-js"][aria-checked="false"]').waitFor();
  const row = await f.db.db
    .selectFrom('webhooks.endpoints')
    .select(['enabled', 'event_types'])
    .where('name', '=', 'no-js')
    .executeTakeFirstOrThrow();
  assert.deepEqual(row, { enabled: false, event_types: ['*'] });
  await context.close();
});
