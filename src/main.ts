import pino from 'pino';
import { loadConfig } from './config.ts';
import { configOrExitCode, stopOnSignal } from './process-lifecycle.ts';
import { startService } from './service.ts';
import { startIdleMemoryReducer } from './util/idle-memory.ts';

const mb = (bytes: number): number => Math.round(bytes / 1e5) / 10;

/**
 * The service process: wiring and signals only. Exit codes: 0 after a clean stop, 1 on a failure
 * at start or a consumer that stopped for good, 2 on bad configuration, 130/143 when a second
 * signal forced the exit.
 */
export async function runService(): Promise<number> {
  const config = configOrExitCode('dialer-webhooks', loadConfig);
  if (config === 2) return 2;
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
  // The start-up burst is over: give back what V8 grew for it, and later what a load left behind.
  const idleMemory = startIdleMemoryReducer({
    onReduced: (r) =>
      logger.debug({ heapBeforeMb: mb(r.beforeBytes), heapAfterMb: mb(r.afterBytes), ms: Math.round(r.ms) }, 'idle: heap reduced'),
  });
  idleMemory.reduce();
  const crashed = service.crashed.then(async (error) => {
    logger.fatal({ err: error }, 'a consumer stopped for good; exiting so the supervisor restarts us');
    await service.stop().catch(() => {});
    return 1;
  });
  const stopped = stopOnSignal({
    logger,
    stop: () => {
      idleMemory.stop();
      return service.stop();
    },
    messages: { stopping: 'shutting down', failed: 'shutdown failed' },
    forceExit: { afterMs: config.shutdownTimeoutMs, message: 'shutdown took longer than SHUTDOWN_TIMEOUT_MS; exiting' },
  });
  return Promise.race([stopped, crashed]);
}

if (import.meta.main) {
  const code = await runService();
  process.exitCode = code;
  // The stop is bounded, but with Kafka or Postgres gone a socket it gave up on may still hold the
  // event loop: exit anyway, once the log lines written so far are out.
  setTimeout(() => process.exit(code), 1000).unref();
}
