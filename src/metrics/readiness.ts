import type { Admin } from 'kafkajs';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Readiness } from './http-server.ts';

/** What `/readyz` looks at. */
export interface ReadinessSources {
  pool: pg.Pool;
  admin: Admin;
  input: { readonly consuming: boolean };
  retry: { readonly consuming: boolean };
  endpoints: { readonly listening: boolean };
  redeliveries: { readonly listening: boolean };
  /** Operations now waiting for a dependency (see BackoffObserver). */
  dependencyWaits: () => number;
  stopping: () => boolean;
  /** Where the reasons behind a failed check go (they stay out of the answer). */
  logger?: Logger;
}

/**
 * Ready while Postgres and the broker answer, both consumers are in their groups, no message
 * waits for a dependency to come back, and not shutting down. The LISTEN connections are shown but do not decide: their periodic reloads keep
 * working without them.
 */
export async function checkReadiness(s: ReadinessSources): Promise<Readiness> {
  const checks: Record<string, boolean | string> = {};
  // Generic reasons only: /readyz is unauthenticated, and driver errors name hosts, IPs and users.
  // The details go to the log.
  checks.postgres = await s.pool.query('select 1').then(
    () => true,
    (err: unknown) => {
      s.logger?.warn({ err }, 'readiness: postgres check failed');
      return 'unreachable';
    },
  );
  checks.kafka = await s.admin.describeCluster().then(
    () => true,
    (err: unknown) => {
      s.logger?.warn({ err }, 'readiness: kafka check failed');
      return 'unreachable';
    },
  );
  checks.inputConsumer = s.input.consuming;
  checks.retryConsumer = s.retry.consuming;
  checks.endpointListener = s.endpoints.listening;
  checks.redeliveryListener = s.redeliveries.listening;
  const waits = s.dependencyWaits();
  checks.dependencies = waits === 0 ? true : `${waits} operations waiting for Postgres, the broker or the registry`;
  const stopping = s.stopping();
  checks.shuttingDown = stopping ? 'yes' : false;
  const ready = !stopping && checks.postgres === true && checks.kafka === true && s.input.consuming && s.retry.consuming && waits === 0;
  return { ready, checks };
}
