// One 'abort' listener per shutdown signal, however many attempts are in flight: EventTarget's
// addEventListener/removeEventListener walk the signal's listener list, so a listener per attempt
// on the one shared signal makes every attempt O(attempts in flight).
const abortWatchers = new WeakMap<AbortSignal, Set<() => void>>();

/** Runs `fn` when `signal` aborts; returns the function that stops watching. */
export function watchAbort(signal: AbortSignal, fn: () => void): () => void {
  let set = abortWatchers.get(signal);
  if (set === undefined) {
    const fns = new Set<() => void>();
    abortWatchers.set(signal, fns);
    signal.addEventListener(
      'abort',
      () => {
        for (const f of fns) f();
        fns.clear();
      },
      { once: true },
    );
    set = fns;
  }
  const watchers = set;
  watchers.add(fn);
  return () => void watchers.delete(fn);
}
