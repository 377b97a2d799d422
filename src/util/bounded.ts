/**
 * Waits for `work`, but no longer than until `deadline` aborts: 'timeout' then, and `work` goes
 * on unobserved (its rejection is swallowed). Without a deadline it is a plain wait.
 */
export async function settleWithin(work: Promise<unknown>, deadline?: AbortSignal): Promise<'done' | 'timeout'> {
  const quiet = work.then(
    () => 'done' as const,
    () => 'done' as const,
  );
  if (!deadline) return quiet;
  if (deadline.aborted) return Promise.race([quiet, Promise.resolve('timeout' as const)]);
  let onAbort!: () => void;
  const timedOut = new Promise<'timeout'>((resolve) => {
    onAbort = () => resolve('timeout');
    deadline.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([quiet, timedOut]);
  } finally {
    deadline.removeEventListener('abort', onAbort);
  }
}
