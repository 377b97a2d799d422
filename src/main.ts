import pino from 'pino';
import { loadConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { startService } from './service.ts';

/**
 * The service process: wiring and signals only. Exit codes: 0 after a clean stop, 1 on a failure
 * at start or a consumer that stopped for good, 2 on bad configuration, 130/143 when a second
 * signal forced the exit.
 */
export async function runService(): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`dialer-webhooks: configuration error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const logger = pino({ level: config.logLevel, base: { service: 'dialer-webhooks' } });
  // kafkajs 2.2.4 passes negative delays to setTimeout, which Node 24 reports on every start
  // (harmless: Node uses 1 ms). Other process warnings go to the log as JSON.
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name !== 'TimeoutNegativeWarning') logger.warn({ err: warning }, 'process warning');
  });
  let service;
  try {
    service = await startService(config, logger);
  } catch (err) {
    logger.fatal({ err }, 'failed to start');
    return 1;
  }
  return new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        logger.warn({ signal }, 'second signal: exiting without finishing the shutdown');
        process.exit(signal === 'SIGINT' ? 130 : 143);
      }
      signalled = true;
      logger.info({ signal }, 'signal received; shutting down');
      const force = setTimeout(() => {
        logger.error('shutdown took longer than SHUTDOWN_TIMEOUT_MS; exiting');
        process.exit(1);
      }, config.shutdownTimeoutMs);
      force.unref();
      service.stop().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    void service.crashed.then(async (error) => {
      logger.fatal({ err: error }, 'a consumer stopped for good; exiting so the supervisor restarts us');
      await service.stop().catch(() => {});
      resolve(1);
    });
  });
}

if (import.meta.main) {
  const code = await runService();
  process.exitCode = code;
  // The stop is bounded, but with Kafka or Postgres gone a socket it gave up on may still hold the
  // event loop: exit anyway, once the log lines written so far are out.
  setTimeout(() => process.exit(code), 1000).unref();
}
