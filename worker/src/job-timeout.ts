/**
 * Bounds one attempt in time. The handler gets a signal that fires at the deadline (or when
 * the worker gives up on the job), and the attempt settles then EVEN IF the handler ignores
 * the signal: a handler stuck on a socket must not hold a worker slot forever.
 *
 * It runs once per job, so it is built to cost little: the AbortController behind the signal
 * is made only when a handler reads `signal` (most fast handlers never do), and the attempt
 * is one promise and one timer.
 */

/** The error an attempt fails with when it runs past its kind's `timeoutMs`. */
export class JobTimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`timeout after ${timeoutMs} ms`);
  }
}

/** One attempt's cancellation: aborted at its deadline or on demand (shutdown), at most once. */
export class AttemptControl {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;
  #reject: ((reason: unknown) => void) | undefined;

  /** Fires when the attempt is aborted; made on first read. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Why the attempt was aborted (a JobTimeoutError, or what `abort` was given). */
  get reason(): unknown {
    return this.#reason;
  }

  /** Ends the attempt now with `reason`, and fires the signal for the handler to stop. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.#reject?.(reason);
  }

  /**
   * Runs `task`; rejects with JobTimeoutError after `timeoutMs`, or with the reason given to
   * `abort`, without waiting for the task to notice. Past that nobody awaits the task: its
   * late settlement is dropped.
   */
  run<T>(task: () => Promise<T>, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#aborted) return reject(this.#reason);
      this.#reject = reject;
      const timer = setTimeout(abortAtDeadline, timeoutMs, this, timeoutMs);
      let running: Promise<T>;
      try {
        running = task();
      } catch (error) {
        clearTimeout(timer);
        return reject(error);
      }
      running.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }
}

function abortAtDeadline(control: AttemptControl, timeoutMs: number): void {
  control.abort(new JobTimeoutError(timeoutMs));
}

/**
 * Runs `task(signal)` under a deadline; rejects with JobTimeoutError after `timeoutMs`, or
 * with the reason of `signal` (the caller's) when that fires first.
 */
export async function runWithTimeout<T>(
  task: (signal: AbortSignal) => Promise<T>,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<T> {
  const control = new AttemptControl();
  const outer = options.signal;
  const onOuterAbort = () => control.abort(abortReason(outer!));
  if (outer?.aborted) onOuterAbort();
  else outer?.addEventListener('abort', onOuterAbort, { once: true });
  try {
    return await control.run(() => task(control.signal), options.timeoutMs);
  } finally {
    outer?.removeEventListener('abort', onOuterAbort);
  }
}

/** An abort reason as an Error: a string reason becomes its message. */
export function abortReason(signal: { reason?: unknown }): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error(typeof reason === 'string' ? reason : 'aborted');
  error.name = 'AbortError';
  return error;
}
