// One 'abort' listener per shutdown signal, however many attempts are in flight: EventTarget's
// addEventListener/removeEventListener walk the signal's listener list, so a listener per attempt
// on the one shared signal makes every attempt O(attempts in flight).
const abortWatchers = new WeakMap<AbortSignal, Set<AbortWatcher>>();

/** What is told when a signal aborts: an object, so a caller with state needs no closure per watch. */
export interface AbortWatcher {
  cancel(reason: 'aborted'): void;
}

/** Calls `watcher.cancel('aborted')` when `signal` aborts, unless unwatchAbort stops it first. */
export function watchAbort(signal: AbortSignal, watcher: AbortWatcher): void {
  let set = abortWatchers.get(signal);
  if (set === undefined) {
    const watchers = new Set<AbortWatcher>();
    abortWatchers.set(signal, watchers);
    signal.addEventListener(
      'abort',
      () => {
        for (const w of watchers) w.cancel('aborted');
        watchers.clear();
      },
      { once: true },
    );
    set = watchers;
  }
  set.add(watcher);
}

/** Stops watching: `watcher` is not told when `signal` aborts. */
export function unwatchAbort(signal: AbortSignal, watcher: AbortWatcher): void {
  abortWatchers.get(signal)?.delete(watcher);
}
