import { ListenConnection, type ListenConnectionOptions } from './listen-connection.ts';

/** The lifecycle events a component that LISTENs for work re-emits, for metrics and tests. */
export interface ListenTriggerEvents {
  /** A notification arrived (work is requested; several may share one run). */
  notification: [];
  /** The LISTEN connection is up (at start and after every reconnect). */
  listenerConnected: [];
  /** The LISTEN connection failed or was lost; a reconnect is scheduled in `retryInMs`. */
  listenerError: [{ error: unknown; retryInMs: number }];
}

/**
 * A LISTEN connection that requests work: `notify` on every notification, and `reconnect` after
 * every reconnect, because notifications sent while the connection was down reached nobody. Its
 * lifecycle is re-emitted on `events`. The caller starts and stops the connection.
 */
export function createListenTrigger(
  options: ListenConnectionOptions,
  runner: { request(reason: 'notify' | 'reconnect'): void },
  events: { emit<K extends keyof ListenTriggerEvents>(event: K, ...args: ListenTriggerEvents[K]): unknown },
): ListenConnection {
  const listen = new ListenConnection(options);
  listen.on('notification', () => {
    runner.request('notify');
    events.emit('notification');
  });
  listen.on('connected', ({ reconnected }) => {
    events.emit('listenerConnected');
    if (reconnected) runner.request('reconnect');
  });
  listen.on('lost', (e) => events.emit('listenerError', e));
  return listen;
}
