import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.ts';
import { configOrExitCode } from '../../src/process-lifecycle.ts';

describe('configOrExitCode', () => {
  it('returns what the loader returns', () => {
    assert.deepEqual(
      configOrExitCode('prog', () => ({ port: 1 })),
      { port: 1 },
    );
  });

  it('turns a configuration error into exit code 2 and a message naming the program', (t) => {
    const write = t.mock.method(process.stderr, 'write', () => true);
    const code = configOrExitCode('dialer-webhooks admin', () => {
      throw new ConfigError('ADMIN_TOKEN', 'is required');
    });
    assert.equal(code, 2);
    assert.deepEqual(write.mock.calls[0]?.arguments, ['dialer-webhooks admin: configuration error: ADMIN_TOKEN: is required\n']);
  });

  it('lets any other error through', () => {
    const loader = mock.fn(() => {
      throw new TypeError('bug');
    });
    assert.throws(() => configOrExitCode('prog', loader), TypeError);
  });
});
