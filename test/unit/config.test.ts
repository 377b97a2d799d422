import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, parseDuration } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';

test('defaults match the local services and the spec', () => {
  const c = loadConfig({});
  assert.deepEqual(c.kafka.brokers, ['127.0.0.1:9092']);
  assert.equal(c.database.url, 'postgres://webhooks:webhooks@127.0.0.1:5432/webhooks');
  assert.deepEqual(c.kafka.inputTopics, ['dialer.events']);
  assert.equal(c.kafka.topicPrefix, 'webhooks');
  assert.equal(c.delivery.timeoutMs, 10_000);
  assert.deepEqual(c.retry.delaysMs, [5000, 30_000, 120_000]);
  assert.equal(c.retry.messageFormat, 'compact', 'the cheaper retry format');
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.kafka) && Object.isFrozen(c.retry.delaysMs));
});

test('reads and parses every kind of value', () => {
  const c = loadConfig({
    KAFKA_BROKERS: 'a:1, b:2',
    INPUT_TOPICS: 'x,y',
    RETRY_DELAYS: '250ms,2s,1m',
    RETRY_MESSAGE_FORMAT: 'headers',
    REQUIRE_HTTPS: 'yes',
    HTTP_PORT: '0',
    KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
    KAFKA_SASL_USERNAME: 'u',
    KAFKA_SASL_PASSWORD: 'p',
  });
  assert.deepEqual(c.kafka.brokers, ['a:1', 'b:2']);
  assert.deepEqual(c.kafka.inputTopics, ['x', 'y']);
  assert.deepEqual(c.retry.delaysMs, [250, 2000, 60_000]);
  assert.equal(c.retry.messageFormat, 'headers');
  assert.equal(c.delivery.requireHttps, true);
  assert.equal(c.http.port, 0);
  assert.deepEqual(c.kafka.sasl, { mechanism: 'scram-sha-512', username: 'u', password: 'p' });
});

const bad: Array<[Record<string, string>, string, RegExp]> = [
  [{ HTTP_PORT: 'eighty' }, 'HTTP_PORT', /whole number/],
  [{ HTTP_PORT: '70000' }, 'HTTP_PORT', /between 0 and 65535/],
  [{ KAFKA_BROKERS: 'localhost' }, 'KAFKA_BROKERS', /not host:port/],
  [{ RETRY_DELAYS: '5s,soon' }, 'RETRY_DELAYS', /"soon" is not a positive duration/],
  [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /one of trace, debug/],
  [{ RETRY_MESSAGE_FORMAT: 'json' }, 'RETRY_MESSAGE_FORMAT', /one of headers, compact/],
  [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL', /postgres: or postgresql: URL/],
  [{ REQUIRE_HTTPS: 'maybe' }, 'REQUIRE_HTTPS', /true or false/],
  [{ INPUT_TOPICS: 'bad topic' }, 'INPUT_TOPICS', /not a valid Kafka topic name/],
  [{ KAFKA_SASL_MECHANISM: 'plain' }, 'KAFKA_SASL_USERNAME', /required/],
  [{ RESPONSE_BODY_STORE_BYTES: '100000', RESPONSE_BODY_READ_BYTES: '10' }, 'RESPONSE_BODY_STORE_BYTES', /must not exceed/],
];

for (const [env, variable, reason] of bad) {
  test(`rejects a bad ${variable} naming the variable`, () => {
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.variable, variable);
        assert.ok(err.message.startsWith(`${variable}: `), err.message);
        assert.match(err.message, reason);
        return true;
      },
    );
  });
}

test('parses durations', () => {
  assert.equal(parseDuration('5s'), 5000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('2m'), 120_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('100'), 100);
  assert.equal(parseDuration('x'), null);
});
