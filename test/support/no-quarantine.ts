import assert from 'node:assert/strict';
import { errorKind } from '../../src/util/error-kind.ts';

/**
 * Consumer options for tests in which no message may be quarantined: errors are classified as in
 * the service, and a quarantine fails the test naming the offset and the error.
 */
export const noQuarantine = {
  classify: errorKind,
  quarantine: async (m: { offset: string }, error: unknown): Promise<void> =>
    assert.fail(`offset ${m.offset} quarantined: ${String(error)}`),
  maxUnclassifiedAttempts: 5,
};
