import type { Logger } from 'pino';
import type { AdminConfig } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Endpoint } from '../endpoints/endpoint.ts';
import type { LiveUpdates } from './live-updates.ts';
import type { TestEventResult } from './views/endpoint-page.ts';

/** What the web admin's routes need; the server wires the real ones, tests may wire their own. */
export interface AdminDeps {
  config: AdminConfig;
  db: Db;
  logger: Logger;
  live: LiveUpdates;
  /** "Send test event": one signed attempt of a sample of `eventType` to the endpoint. */
  sendTestEvent(endpoint: Endpoint, eventType: string, signal: AbortSignal): Promise<TestEventResult>;
  /** Wall clock, ms (sessions, "3 min ago"). Default `Date.now`. */
  now?: () => number;
}
