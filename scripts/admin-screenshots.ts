/**
 * Screenshots of every web admin page for docs/admin-ui.md: seeds a fresh database (cloned from
 * the migrated template, like a test) with demo endpoints and a delivery history, starts the web
 * admin and a loopback receiver, and drives Debian's chromium through the pages.
 *
 *   DATABASE_URL=… node scripts/admin-screenshots.ts [out-dir]   (default docs/images)
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { startAdminServer } from '../src/admin/admin-server.ts';
import { loadAdminConfig, loadConfig } from '../src/config.ts';
import { launchBrowser } from '../test/support/browser.ts';
import { createTestDatabase } from '../test/support/database.ts';

const outDir = process.argv[2] ?? 'docs/images';
const TOKEN = `screenshots-${randomUUID()}`;
const db = await createTestDatabase('admin_screens');
const receiver = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"received":true,"crm_activity_id":"act_91842"}');
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

const MIN = 60_000;
const now = Date.now();
async function endpoint(
  name: string,
  url: string,
  eventTypes: string[],
  extra: { enabled?: boolean; reason?: string; description?: string } = {},
) {
  const row = await db.db
    .insertInto('webhooks.endpoints')
    .values({
      name,
      url,
      event_types: eventTypes,
      enabled: extra.enabled ?? true,
      disabled_reason: extra.reason ?? null,
      description: extra.description ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** A delivery and its attempts; `statuses` are the HTTP statuses (null: timeout) of each attempt, `minutesAgo` of the first. */
async function delivery(
  endpointId: string,
  url: string,
  eventType: string,
  minutesAgo: number,
  statuses: Array<number | null>,
  final: 'succeeded' | 'dead' | 'retrying',
) {
  const id = randomUUID();
  const start = now - minutesAgo * MIN;
  const payload = {
    event: eventType,
    timestamp: new Date(start).toISOString(),
    data: {
      call_id: String(10_000 + minutesAgo),
      agent: 'jsmith',
      phone_number: '5551234567',
      duration: 180,
      disposition: 'SALE',
      campaign: 'Q1-Sales',
    },
  };
  const delays = [0, 5_000, 30_000, 120_000];
  await db.db
    .insertInto('webhooks.deliveries')
    .values({
      id,
      endpoint_id: endpointId,
      event_id: randomUUID(),
      event_type: eventType,
      event_timestamp: new Date(start),
      status: final,
      status_reason: final === 'dead' ? `failed ${statuses.length} attempts; last: HTTP ${statuses.at(-1) ?? 'timeout'}` : null,
      attempts: statuses.length,
      last_status_code: statuses.at(-1) ?? null,
      first_attempt_at: new Date(start),
      last_attempt_at: new Date(start + delays.slice(0, statuses.length).reduce((a, b) => a + b, 0)),
      payload: final === 'succeeded' && statuses.length === 1 ? null : Buffer.from(JSON.stringify(payload)),
      created_at: new Date(start),
    })
    .execute();
  let at = start;
  for (const [i, status] of statuses.entries()) {
    at += delays[i]!;
    const ok = status !== null && status < 300;
    await db.db
      .insertInto('webhooks.attempts')
      .values({
        delivery_id: id,
        endpoint_id: endpointId,
        series: 1,
        attempt: i + 1,
        started_at: new Date(at),
        duration_ms: status === null ? 10_000 : 40 + ((minutesAgo * 37 + i * 11) % 180),
        delay_ms: i === 0 ? null : delays[i]!,
        url,
        outcome: ok ? 'succeeded' : 'failed',
        status_code: status,
        error_kind: ok ? null : status === null ? 'timeout' : 'http_status',
        error: ok ? null : status === null ? 'timed out after 10000 ms' : `HTTP ${status}`,
        response_body:
          status === null
            ? null
            : ok
              ? '{"received":true}'
              : status === 503
                ? '<html><body><h1>503 Service Unavailable</h1></body></html>'
                : '{"error":"upstream database unavailable"}',
      })
      .execute();
  }
  return id;
}

const crmUrl = `${receiverUrl}/hooks/dialer`;
const crm = await endpoint('crm-sync', crmUrl, ['call.started', 'call.ended'], {
  description: 'Salesforce: call outcomes and follow-up workflows',
});
const monitoringUrl = 'https://alerts.example.com/v1/dialer';
const monitoring = await endpoint('monitoring', monitoringUrl, ['alert.triggered'], { description: 'PagerDuty bridge' });
await endpoint('lead-sync', 'https://leads.example.net/webhooks/dialer', ['lead.updated'], {
  enabled: false,
  reason: '410 Gone from the endpoint',
});
const archiveUrl = 'https://archive.example.org/ingest';
const archive = await endpoint('event-archive', archiveUrl, ['*']);
for (let m = 2; m < 600; m += 17) await delivery(crm, crmUrl, m % 2 ? 'call.ended' : 'call.started', m, [200], 'succeeded');
await delivery(crm, crmUrl, 'call.ended', 45, [500, 200], 'succeeded');
let deadId = '';
for (let m = 5; m < 300; m += 29) {
  const id = await delivery(
    monitoring,
    monitoringUrl,
    'alert.triggered',
    m,
    m % 3 ? [200] : [503, 503, null, 503],
    m % 3 ? 'succeeded' : 'dead',
  );
  if (!(m % 3)) deadId = id;
}
await delivery(monitoring, monitoringUrl, 'alert.triggered', 1, [503], 'retrying');
for (let m = 3; m < 200; m += 23)
  await delivery(archive, archiveUrl, ['agent.login', 'lead.updated', 'recording.ready'][m % 3]!, m, [200], 'succeeded');

const env = {
  DATABASE_URL: db.url,
  ADMIN_TOKEN: TOKEN,
  ADMIN_HTTP_PORT: '0',
  LOG_LEVEL: 'silent',
  REQUIRE_HTTPS: 'false',
  DELIVERY_ALLOW_NETWORKS: '127.0.0.0/8',
};
const admin = await startAdminServer(loadConfig(env), loadAdminConfig(env), pino({ level: 'silent' }));
const browser = await launchBrowser();
const context = await browser.newContext({ baseURL: admin.url, viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
const page = await context.newPage();
const shot = async (name: string): Promise<void> => {
  await page.screenshot({ path: `${outDir}/${name}.png`, fullPage: true });
  console.log(`${outDir}/${name}.png`);
};

try {
  await page.goto('/sign-in');
  await shot('admin-sign-in');
  await page.getByLabel('Token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/webhooks');
  await shot('admin-webhooks');

  await page.getByRole('link', { name: 'Add Webhook' }).first().click();
  await page.getByLabel('Name').fill('crm-sync-eu');
  await page.getByLabel('URL').fill('https://crm.example.com/hooks/dialer');
  await page.getByRole('checkbox', { name: /call\.ended/ }).check();
  await page.getByRole('checkbox', { name: /call\.started/ }).check();
  await shot('admin-add-webhook');
  await page.getByLabel('URL').fill('crm.example.com/hooks');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('.field-error, .flash.error').first().waitFor();
  await shot('admin-add-webhook-error');

  await page.goto(`/webhooks/${crm}`);
  await page.getByRole('button', { name: 'Send test event' }).click();
  await page.locator('#test-result').waitFor();
  await shot('admin-endpoint');

  await page.goto(`/webhooks/${monitoring}?status=failed`);
  await shot('admin-delivery-log-filtered');
  await page.goto(`/webhooks/${monitoring}/recover?since=24h`);
  await shot('admin-recover');
  await page.goto(`/deliveries/${deadId}`);
  await shot('admin-delivery');

  await page.goto(`/webhooks/${crm}/edit`);
  await db.db
    .updateTable('webhooks.endpoints')
    .set({ url: `${receiverUrl}/hooks/dialer-v2` })
    .where('id', '=', crm)
    .execute();
  await page.getByLabel('Name').fill('crm-sync-renamed');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('#conflict').waitFor();
  await shot('admin-edit-conflict');

  await page.goto('/troubleshooting');
  await shot('admin-troubleshooting');
} finally {
  await browser.close();
  await admin.stop();
  receiver.close();
  await db.drop();
}
