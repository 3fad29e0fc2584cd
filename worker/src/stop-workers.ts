/**
 * Graceful shutdown of a worker process's BullMQ Workers, all at once:
 *  1. stop fetching new jobs on every queue;
 *  2. let active jobs finish, up to `timeoutMs` (SHUTDOWN_TIMEOUT_MS);
 *  3. then fire the signals of the jobs still running; `startWorker`'s processor puts each
 *     back to waiting (or leaves it to stalled-job recovery) so it runs again elsewhere;
 *  4. close the connections.
 * Closing needs Redis; when it is unreachable and no job is running any more, waiting
 * longer cannot help, so shutdown gives up after `idleGraceMs` rather than hang.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { coerceError, type Logger } from '@conveyor/shared';
import type { Worker } from 'bullmq';

/** The abort reason BullMQ passes to a job's signal when shutdown gives up on it. */
export const SHUTDOWN_ABORT_REASON = 'worker shutting down';

export interface StopWorkersOptions {
  /** How long active jobs may run on, in ms. */
  timeoutMs: number;
  logger: Logger;
  /** Jobs running now in these workers (`WorkerStats.active`). */
  activeJobs: () => number;
  /** How long closing may lag once no job runs, in ms, before shutdown stops waiting. Default 2,000. */
  idleGraceMs?: number;
  /** How long closing may take after the rest was aborted, in ms. Default 10,000. */
  afterAbortTimeoutMs?: number;
}

const POLL_INTERVAL_MS = 50;

export async function stopWorkers(workers: readonly Worker[], options: StopWorkersOptions): Promise<void> {
  const { timeoutMs, logger, activeJobs, idleGraceMs = 2_000, afterAbortTimeoutMs = 10_000 } = options;
  let results: PromiseSettledResult<void>[] | undefined;
  const closed = Promise.allSettled(workers.map((worker) => worker.close())).then((settled) => (results = settled));

  const abortAtMs = Date.now() + timeoutMs;
  let giveUpAtMs = Number.POSITIVE_INFINITY;
  let idleSinceMs: number | undefined;
  while (!results) {
    const now = Date.now();
    if (activeJobs() > 0) idleSinceMs = undefined;
    else idleSinceMs ??= now;
    if (idleSinceMs !== undefined && now - idleSinceMs >= idleGraceMs) {
      logger.warn('workers did not finish closing although no job runs (is Redis reachable?); not waiting longer');
      return;
    }
    if (now >= abortAtMs && giveUpAtMs === Number.POSITIVE_INFINITY) {
      logger.warn({ timeoutMs, active: activeJobs() }, 'jobs still running at the shutdown timeout; aborting them');
      for (const worker of workers) worker.cancelAllJobs(SHUTDOWN_ABORT_REASON);
      giveUpAtMs = now + afterAbortTimeoutMs;
    }
    if (now >= giveUpAtMs) throw new Error(`workers did not close within ${afterAbortTimeoutMs} ms of aborting their jobs`);
    await Promise.race([closed, sleep(POLL_INTERVAL_MS)]);
  }
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) throw coerceError(failure.reason);
}
