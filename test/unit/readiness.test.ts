import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Admin } from 'kafkajs';
import type pg from 'pg';
import pino from 'pino';
import { checkReadiness } from '../../src/metrics/readiness.ts';

test('/readyz reasons are generic: no host, IP, user or driver text from a failed check', async () => {
  const logged: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void logged.push(line) });
  const readiness = await checkReadiness({
    pool: { query: () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.5:5432 (user webhooks)')) } as unknown as pg.Pool,
    admin: {
      describeCluster: () => Promise.reject(new Error('Connection error: getaddrinfo ENOTFOUND kafka-0.internal.example')),
    } as unknown as Admin,
    input: { consuming: true },
    retry: { consuming: true },
    endpoints: { listening: true },
    redeliveries: { listening: true },
    dependencyWaits: () => 0,
    stopping: () => false,
    logger,
  });
  assert.equal(readiness.ready, false);
  assert.equal(readiness.checks.postgres, 'unreachable');
  assert.equal(readiness.checks.kafka, 'unreachable');
  assert.doesNotMatch(JSON.stringify(readiness), /10\.0\.0\.5|kafka-0|webhooks|ECONNREFUSED|ENOTFOUND/);
  // The details are in the log, for whoever runs the service.
  assert.match(logged.join(''), /10\.0\.0\.5:5432/);
  assert.match(logged.join(''), /kafka-0\.internal\.example/);
});
