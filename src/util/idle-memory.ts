import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';

/**
 * Gives memory back while the process is idle. V8 keeps what it grew to: the new space it
 * enlarged under the start-up burst or a load (up to 2 × `--max-semi-space-size`) and the old
 * space's free pages stay committed, and so resident, until a garbage collection that is told to
 * reduce memory. This runs one such collection (V8's "last resort" flavour, what a low-memory
 * notification does: full collections that also shrink the new space and release free pages)
 * once the service has started, and again whenever the event loop was idle over a whole check
 * interval after the heap had grown. It never runs under load, so it costs no CPU per delivery;
 * the new space grows back as soon as traffic needs it.
 *
 * It needs the `gc` function that `--expose-gc` gives (npm start and the image set it); without
 * it, it does nothing.
 */
export interface IdleMemoryOptions {
  /** Between idle checks, ms. Default 10,000. */
  intervalMs?: number;
  /** Event loop utilization (0–1) over an interval below which the process counts as idle. Default 0.02. */
  idleUtilization?: number;
  /** Growth of the committed heap since the last reduction that makes an idle process reduce again, bytes. Default 8 MiB. */
  minGrowthBytes?: number;
  /** Called after each reduction: committed heap bytes before and after, and how long it took. */
  onReduced?: (result: ReductionResult) => void;
  /** For tests: the memory-reducing collection (default: `--expose-gc`'s `gc`, or none). */
  collect?: (() => void) | null;
  /** For tests: the committed heap, bytes (default: V8's total heap size). */
  committedBytes?: () => number;
  /** For tests: event loop utilization since the previous call (default: perf_hooks'). */
  utilization?: () => number;
}

export interface ReductionResult {
  beforeBytes: number;
  afterBytes: number;
  ms: number;
}

export interface IdleMemoryReducer {
  /** Reduces now (the service calls it once it has started). Null when there is no `gc`. */
  reduce(): ReductionResult | null;
  /** One idle check: reduces when the last interval was idle and the heap grew enough since. */
  check(): ReductionResult | null;
  stop(): void;
}

type ExposedGc = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

function exposedGc(): (() => void) | null {
  const gc = (globalThis as { gc?: ExposedGc }).gc;
  return typeof gc === 'function' ? () => gc({ type: 'major', execution: 'sync', flavor: 'last-resort' }) : null;
}

function utilizationSinceLastCall(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const u = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    return u;
  };
}

/** Starts the idle checks (an unref'd timer); see the interface's comment. */
export function startIdleMemoryReducer(options: IdleMemoryOptions = {}): IdleMemoryReducer {
  const collect = options.collect === undefined ? exposedGc() : options.collect;
  const committed = options.committedBytes ?? (() => v8.getHeapStatistics().total_heap_size);
  const utilization = options.utilization ?? utilizationSinceLastCall();
  const idleUtilization = options.idleUtilization ?? 0.02;
  const minGrowth = options.minGrowthBytes ?? 8 * 1024 * 1024;
  let afterLast = 0;

  const reduce = (): ReductionResult | null => {
    if (!collect) return null;
    const started = performance.now();
    const beforeBytes = committed();
    collect();
    afterLast = committed();
    const result = { beforeBytes, afterBytes: afterLast, ms: performance.now() - started };
    options.onReduced?.(result);
    return result;
  };
  const check = (): ReductionResult | null => {
    const idle = utilization() < idleUtilization;
    return idle && committed() - afterLast >= minGrowth ? reduce() : null;
  };
  const timer = collect ? setInterval(check, options.intervalMs ?? 10_000).unref() : undefined;
  return { reduce, check, stop: () => clearInterval(timer) };
}
