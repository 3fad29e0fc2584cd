/**
 * Bounds one attempt in time. The handler gets a signal that fires at the deadline (or when
 * the caller's signal fires), and the attempt settles then EVEN IF the handler ignores the
 * signal: a handler stuck on a socket must not hold a worker slot forever.
 */

/** The error an attempt fails with when it runs past its kind's `timeoutMs`. */
export class JobTimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`timeout after ${timeoutMs} ms`);
  }
}

/**
 * Runs `task(signal)`; rejects with JobTimeoutError after `timeoutMs`, or with the reason of
 * `signal` (the caller's) when that fires first, without waiting for the task to notice.
 */
export async function runWithTimeout<T>(
  task: (signal: AbortSignal) => Promise<T>,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<T> {
  const controller = new AbortController();
  let rejectEarly: (reason: unknown) => void = () => {};
  const early = new Promise<never>((_, reject) => (rejectEarly = reject));
  const abort = (reason: unknown) => {
    controller.abort(reason);
    rejectEarly(reason);
  };
  const timer = setTimeout(() => abort(new JobTimeoutError(options.timeoutMs)), options.timeoutMs);
  const onOuterAbort = () => abort(abortReason(options.signal!));
  if (options.signal?.aborted) onOuterAbort();
  else options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  try {
    const running = Promise.resolve().then(() => task(controller.signal));
    // Past the deadline nobody awaits the task: its late rejection must not go unhandled.
    running.catch(() => {});
    return await Promise.race([running, early]);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error(typeof reason === 'string' ? reason : 'aborted');
  error.name = 'AbortError';
  return error;
}
