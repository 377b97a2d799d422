import pino from 'pino';
import { loadAdminConfig, loadConfig } from '../config.ts';
import { configOrExitCode, stopOnSignal } from '../process-lifecycle.ts';
import { startAdminServer } from './admin-server.ts';

/**
 * The web admin process (`dialer-webhooks admin`, `npm run admin`): wiring and signals only.
 * Exit codes: 0 after a clean stop, 1 when it cannot start, 2 on bad configuration (a missing or
 * short ADMIN_TOKEN among them).
 */
export async function runAdmin(): Promise<number> {
  const loaded = configOrExitCode('dialer-webhooks admin', () => ({ config: loadConfig(), admin: loadAdminConfig() }));
  if (loaded === 2) return 2;
  const { config, admin } = loaded;
  const logger = pino({ level: config.logLevel, base: { service: 'dialer-webhooks-admin' } });
  let server;
  try {
    server = await startAdminServer(config, admin, logger);
  } catch (err) {
    logger.fatal({ err }, 'web admin failed to start');
    return 1;
  }
  return stopOnSignal({
    logger,
    stop: () => server.stop(),
    messages: { stopping: 'stopping the web admin', failed: 'web admin stop failed' },
  });
}

if (import.meta.main) {
  process.exitCode = await runAdmin();
}
