import pino from 'pino';
import { loadAdminConfig, loadConfig } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { startAdminServer } from './admin-server.ts';

/**
 * The web admin process (`dialer-webhooks admin`, `npm run admin`): wiring and signals only.
 * Exit codes: 0 after a clean stop, 1 when it cannot start, 2 on bad configuration (a missing or
 * short ADMIN_TOKEN among them).
 */
export async function runAdmin(): Promise<number> {
  let config, admin;
  try {
    config = loadConfig();
    admin = loadAdminConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`dialer-webhooks admin: configuration error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const logger = pino({ level: config.logLevel, base: { service: 'dialer-webhooks-admin' } });
  let server;
  try {
    server = await startAdminServer(config, admin, logger);
  } catch (err) {
    logger.fatal({ err }, 'web admin failed to start');
    return 1;
  }
  return new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) process.exit(signal === 'SIGINT' ? 130 : 143);
      signalled = true;
      logger.info({ signal }, 'signal received; stopping the web admin');
      server.stop().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error({ err }, 'web admin stop failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

if (import.meta.main) {
  process.exitCode = await runAdmin();
}
