import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startAdminServer, type AdminServer } from '../../src/admin/admin-server.ts';
import { loadAdminConfig, loadConfig } from '../../src/config.ts';
import { launchBrowser } from './browser.ts';
import { openDispatcherFixture, type DispatcherFixture } from './service.ts';

/** A dispatcher with no endpoints, the web admin beside it on loopback, and a browser to drive it. */
export interface AdminBrowserFixture {
  f: DispatcherFixture;
  admin: AdminServer;
  browser: Browser;
  /**
   * A new browser context (JavaScript on unless `javaScriptEnabled` is false) with a page signed in
   * with the admin token, on /webhooks; `onPage` sees the page before its first navigation.
   */
  signedIn(options?: { javaScriptEnabled?: boolean; onPage?: (page: Page) => void }): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

/** Opens the fixture; `env` adds to the dispatcher's (the admin reads the same, plus its own token and port). */
export async function openAdminBrowserFixture(label: string, env: Record<string, string>): Promise<AdminBrowserFixture> {
  const token = `browser-test-${randomUUID()}`;
  const f = await openDispatcherFixture(label, { secret: 'unused-the-admin-generates-secrets', endpoints: [], env });
  let admin: AdminServer | undefined;
  let browser: Browser | undefined;
  const close = async (): Promise<void> => {
    await browser?.close();
    await admin?.stop();
    await f.close();
  };
  try {
    const adminEnv = { ...f.env, ADMIN_TOKEN: token, ADMIN_HTTP_HOST: '127.0.0.1', ADMIN_HTTP_PORT: '0' };
    admin = await startAdminServer(loadConfig(adminEnv), loadAdminConfig(adminEnv), pino({ level: 'silent' }));
    browser = await launchBrowser();
  } catch (err) {
    await close();
    throw err;
  }
  const opened = { admin, browser };
  return {
    f,
    ...opened,
    async signedIn({ javaScriptEnabled = true, onPage } = {}) {
      const context = await opened.browser.newContext({ baseURL: opened.admin.url, javaScriptEnabled });
      const page = await context.newPage();
      onPage?.(page);
      await page.goto('/webhooks');
      await page.getByLabel('Token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL('**/webhooks');
      return { context, page };
    },
    close,
  };
}
