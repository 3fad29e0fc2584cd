/**
 * The worker's periodic dead-letter chores, per queue it consumes (every
 * DEAD_LETTER_SWEEP_MS, default 15 s): the reconcile sweep that dead-letters jobs left in
 * `failed` (a crash between "failed" and "recorded", a stall, another client's failure),
 * then retention trimming of the queue's DLQ. One round at a time; a round that cannot
 * reach Redis just waits for it (wait-out connection) and the next starts after it ends.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { coerceError, withDeadline, type DeadLetterStore, type Logger, type QueueModelRecorder, type RetentionLimits } from '@conveyor/shared';

export interface DeadLetterSweepOptions {
  store: DeadLetterStore;
  queues: readonly string[];
  /** Time between the end of one round and the start of the next, in ms. */
  intervalMs: number;
  retention: RetentionLimits;
  logger: Logger;
  /** Jobs that failed less than this long ago are left to their own worker's dead-lettering, in ms. Default 2,000. */
  graceMs?: number;
  /** Counts the records the sweep writes as dead-letterings in the queue model. */
  recorder?: QueueModelRecorder;
}

export interface DeadLetterSweep {
  /** Resolves after the next round that starts from now has finished; rejects once stopped. */
  nextRound(): Promise<void>;
  /**
   * Stops scheduling rounds and waits up to a second for the one running; a round cut short
   * is harmless (every step is idempotent) and one stuck on an unreachable Redis must not
   * hold up shutdown.
   */
  stop(): Promise<void>;
}

const STOP_WAIT_MS = 1_000;

export function startDeadLetterSweep(options: DeadLetterSweepOptions): DeadLetterSweep {
  const { store, queues, intervalMs, retention, logger, graceMs = 2_000 } = options;
  const controller = new AbortController();
  let roundWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  let lastError = '';

  const round = async () => {
    for (const queue of queues) {
      try {
        const swept = await store.sweep(queue, { graceMs });
        options.recorder?.deadLettered(queue, swept.recorded);
        if (swept.recorded > 0 || swept.alreadyRecorded > 0) logger.info({ queue, ...swept }, 'dead-letter sweep recorded failed jobs');
        const trimmed = await store.trim(queue, retention);
        if (trimmed.removed > 0) logger.info({ queue, removed: trimmed.removed }, 'dead-letter retention removed old records');
        lastError = '';
      } catch (thrown) {
        const error = coerceError(thrown);
        if (error.message !== lastError) logger.warn({ err: error, queue }, 'dead-letter sweep failed; retrying next round');
        lastError = error.message;
      }
    }
  };

  const loop = (async () => {
    while (!controller.signal.aborted) {
      const waiters = roundWaiters;
      roundWaiters = [];
      await round();
      for (const waiter of waiters) waiter.resolve();
      await sleep(intervalMs, undefined, { signal: controller.signal }).catch(() => {});
    }
  })();

  return {
    nextRound() {
      if (controller.signal.aborted) return Promise.reject(new Error('the dead-letter sweep was stopped'));
      return new Promise((resolve, reject) => roundWaiters.push({ resolve, reject }));
    },
    async stop() {
      controller.abort();
      for (const waiter of roundWaiters) waiter.reject(new Error('the dead-letter sweep was stopped'));
      roundWaiters = [];
      await withDeadline(loop, STOP_WAIT_MS, 'the dead-letter sweep').catch((error: unknown) =>
        logger.warn({ err: coerceError(error) }, 'dead-letter sweep did not stop in time'),
      );
    },
  };
}
