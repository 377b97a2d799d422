import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCampaign } from '../chaos/campaign.ts';
import { formatReport } from '../chaos/report.ts';

// A short fault-injection campaign (the full one is `npm run chaos -- --rounds 20`). It runs on a
// Kafka broker and a Postgres cluster of its own, never on the shared services, so it may run
// beside the other test files.
test('short chaos campaign: a member killed and Postgres stopped lose no pair, resend nothing after a recorded success, and every group commits to the end', async (t) => {
  const result = await runCampaign({
    rounds: 2,
    seed: 20261201,
    faults: ['member-sigkill', 'postgres-stop'],
    ratePerSecond: 5,
    settleTimeoutMs: 60_000,
    log: (line) => t.diagnostic(line),
  });
  const report = formatReport(result);
  t.diagnostic(`\n${report}`);
  assert.equal(result.rounds.length, 2);
  for (const r of result.rounds) assert.ok(r.events > 0, `round ${r.round} produced events`);
  assert.ok(result.passed, `the campaign failed (logs kept in ${result.dir}):\n${report}`);
});
