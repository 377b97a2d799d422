import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { openAdminBrowserFixture, type AdminBrowserFixture } from '../support/admin-browser.ts';
import type { DispatcherFixture } from '../support/service.ts';
import { waitFor } from '../support/wait-for.ts';

// The endpoint form's filter and header fields in a real browser, against a real dispatcher,
// Kafka, Postgres and a loopback receiver: the database's messages beside the fields, headers
// that arrive at the receiver, and stored header values that no page ever carries.

const SECRET_VALUE = `tok-${randomUUID()}`;
let fx: AdminBrowserFixture;
let f: DispatcherFixture;

before(async () => {
  fx = await openAdminBrowserFixture('admin_web_headers', { REQUIRE_HTTPS: 'false', DELIVERY_ALLOW_NETWORKS: '127.0.0.0/8' });
  f = fx.f;
});

after(async () => {
  await fx?.close();
});

async function signedIn(): Promise<Page> {
  return (await fx.signedIn()).page;
}

function callEnded(campaign: string): string {
  return JSON.stringify({ event: 'call.ended', timestamp: new Date().toISOString(), data: { call_id: randomUUID(), campaign } });
}

async function storedHeaders(): Promise<unknown> {
  const row = await f.db.db.selectFrom('webhooks.endpoints').select('headers').where('name', '=', 'hdr-sync').executeTakeFirstOrThrow();
  return row.headers;
}

test('the form shows a bad filter and a bad header beside their fields, then saves both; the page masks the value', async () => {
  const page = await signedIn();
  const url = f.receiver.route('/hdr', 'secret-checked-elsewhere', 200);
  await page.getByRole('link', { name: 'Add Webhook' }).first().click();
  await page.getByLabel('Name').fill('hdr-sync');
  await page.getByLabel('URL').fill(url);
  await page.getByRole('checkbox', { name: /call\.ended/ }).check();

  // Not JSON: refused before the database.
  await page.locator('#filter').fill('{"data.campaign": ');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('#filter-error').waitFor();
  assert.match((await page.locator('#filter-error').textContent()) ?? '', /The filter is not JSON/);

  // JSON the trigger refuses: its message, beside the field (the trigger's column is `filter`).
  await page.locator('#filter').fill('{"data.campaign": {"$bogus": 1}}');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('#filter-error').waitFor();
  assert.match((await page.locator('#filter-error').textContent()) ?? '', /unknown operator \$bogus/);

  // A header that would override ours: refused beside the headers field.
  await page.locator('#filter').fill('{"data.campaign": {"$in": ["Q1-Sales"]}}');
  await page.locator('#new_headers').fill('X-Webhook-Signature: forged');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('#headers-error').waitFor();
  assert.match((await page.locator('#headers-error').textContent()) ?? '', /header X-Webhook-Signature may not be set/);

  await page.locator('#new_headers').fill(`Authorization: Bearer ${SECRET_VALUE}\nX-Tenant: acme`);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/\/webhooks\/[0-9a-f-]{36}\?notice=created/);
  assert.match((await page.locator('#endpoint-headers').textContent()) ?? '', /Authorization: Bearer \*\*\*\*[\s\S]*X-Tenant: \*\*\*\*/);
  assert.match((await page.locator('#endpoint-filter').textContent()) ?? '', /Q1-Sales/);
  assert.ok(!(await page.content()).includes(SECRET_VALUE), 'the endpoint page never carries a header value');
  assert.deepEqual(await storedHeaders(), { Authorization: `Bearer ${SECRET_VALUE}`, 'X-Tenant': 'acme' });

  // The dispatcher picks it up: a matching event arrives with the header, a non-matching one not at all.
  await waitFor(
    async () => {
      await f.kafka.produce(f.input, [{ value: callEnded('Other') }, { value: callEnded('Q1-Sales') }]);
      return f.receiver.to('/hdr').length > 0;
    },
    { what: 'a delivery to the new endpoint', timeoutMs: 30_000, intervalMs: 1000 },
  );
  for (const r of f.receiver.to('/hdr')) {
    assert.equal(r.json.data.campaign, 'Q1-Sales');
    assert.equal(r.headers.authorization, `Bearer ${SECRET_VALUE}`);
  }
  await page.context().close();
});

test('the edit form replaces and removes headers without ever showing a stored value', async () => {
  const page = await signedIn();
  await page.getByRole('link', { name: 'hdr-sync' }).first().click();
  await page.getByRole('link', { name: 'Edit' }).click();
  await page.waitForURL(/\/edit$/);
  assert.ok(!(await page.content()).includes(SECRET_VALUE), 'the edit form never carries a header value');
  assert.deepEqual(
    await page
      .locator('#filter')
      .inputValue()
      .then((v) => JSON.parse(v) as unknown),
    JSON.parse('{"data.campaign": {"$in": ["Q1-Sales"]}}'),
  );

  await page.locator('[id="header-value-Authorization"]').fill('Bearer replaced');
  await page.locator('input[name="remove_header"][value="X-Tenant"]').check();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/notice=saved/);
  assert.deepEqual(await storedHeaders(), { Authorization: 'Bearer replaced' });

  await page.getByRole('link', { name: 'Edit' }).click();
  await page.waitForURL(/\/edit$/);
  await page.locator('#filter').fill('');
  await page.locator('input[name="remove_header"][value="Authorization"]').check();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/notice=saved/);
  assert.deepEqual(await storedHeaders(), {});
  assert.equal(await page.locator('#routing').count(), 0, 'no filter and no headers shown');
  await page.context().close();
});
