import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Logger } from 'pino';
import type { AdminConfig, Config } from '../config.ts';
import { openDatabase } from '../db/database.ts';
import { createTestDeliverer, sendTestEvent } from '../delivery/test-delivery.ts';
import { UsageError } from '../errors.ts';
import { findEventType } from '../events/catalog-reads.ts';
import { createAdminApp } from './admin-app.ts';
import { LiveUpdates } from './live-updates.ts';

/** A running web admin: its address, and `stop()` (safe to call twice). */
export interface AdminServer extends AsyncDisposable {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts the web admin: a small pool on the service's database, one LISTEN connection for live
 * updates, a deliverer for test events, and the HTTP server on ADMIN_HTTP_HOST:ADMIN_HTTP_PORT.
 * Rejects, with everything closed again, when any of them cannot start.
 */
export async function startAdminServer(config: Config, admin: AdminConfig, logger: Logger): Promise<AdminServer> {
  const { db } = openDatabase(config.database.url, Math.min(config.database.poolSize, 5), 'dialer-webhooks-admin');
  const live = new LiveUpdates({ databaseUrl: config.database.url, logger: logger.child({ component: 'admin-live' }) });
  // The CLI's `endpoints test` sends with the same deliverer, so both reach only what a delivery may.
  const deliverer = createTestDeliverer(config.delivery);
  let server: Server | null = null;
  const closeAll = async (): Promise<void> => {
    await live.stop();
    if (server !== null) {
      const s = server;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    }
    await deliverer.close();
    await db.destroy();
  };
  try {
    await live.start();
    const app = createAdminApp({
      config: admin,
      db,
      logger,
      live,
      sendTestEvent: async (endpoint, eventType, signal) => {
        const definition = await findEventType(db, eventType);
        if (definition === null) throw new UsageError(`unknown event type ${JSON.stringify(eventType)}`);
        return sendTestEvent({ endpoint, eventType: definition, deliverer, signal });
      },
    });
    const s = createAdaptorServer({ fetch: app.fetch }) as Server;
    server = s;
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(admin.port, admin.host, () => {
        s.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await closeAll().catch(() => {});
    throw err;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info({ url }, 'web admin listening');
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => (stopping ??= closeAll());
  return {
    url,
    port: address.port,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
