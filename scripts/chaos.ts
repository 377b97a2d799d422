/**
 * `npm run chaos -- [--rounds 20] [--seed S] [--faults a,b] [--rate 8]`: the fault-injection
 * campaign (test/chaos/). It starts a private Kafka broker and Postgres cluster (never the shared
 * services), three dispatcher processes and five loopback endpoints (one with per-key ordering),
 * injects one fault per round and checks that nothing was lost, nothing was sent again after its
 * recorded success, per-key order held and every group committed to the end. Prints a table; exit
 * code 1 when an invariant failed.
 */
import { parseArgs } from 'node:util';
import { runCampaign } from '../test/chaos/campaign.ts';
import { FAULTS, isFault } from '../test/chaos/faults.ts';
import { formatReport } from '../test/chaos/report.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    seed: { type: 'string' },
    faults: { type: 'string' },
    rate: { type: 'string', default: '8' },
  },
});
const rounds = Number(values.rounds);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const rate = Number(values.rate);
const faults = values.faults?.split(',').map((f) => f.trim());
if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(seed) || !(rate > 0 && rate <= 100)) {
  console.error('usage: npm run chaos -- [--rounds N>=1] [--seed INTEGER] [--faults a,b] [--rate EVENTS_PER_SECOND<=100]');
  process.exit(2);
}
const unknown = faults?.filter((f) => !isFault(f)) ?? [];
if (unknown.length > 0) {
  console.error(`unknown fault(s) ${unknown.join(', ')}; known: ${FAULTS.join(', ')}`);
  process.exit(2);
}
console.log(`chaos: ${rounds} rounds, seed ${seed} (replay with --seed ${seed})`);
const result = await runCampaign({
  rounds,
  seed,
  ratePerSecond: rate,
  log: (l) => console.log(l),
  ...(faults ? { faults: faults.filter(isFault) } : {}),
});
console.log(formatReport(result));
if (!result.passed) console.log(`chaos: FAILED; logs of the members and services kept in ${result.dir}`);
process.exitCode = result.passed ? 0 : 1;
