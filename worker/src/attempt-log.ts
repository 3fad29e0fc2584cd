/**
 * The failure taxonomy of one attempt, and the line that records it in the job's BullMQ
 * log, which becomes the `attempts` of its dead-letter record (see
 * @conveyor/shared dead-letter/dead-letter.ts for the whole lifecycle).
 *
 *   timeout     the attempt ran past its kind's timeoutMs (JobTimeoutError)
 *   validation  the payload failed its schema, or its name is no kind of this queue
 *   permanent   the handler threw PermanentJobError / UnrecoverableError (e.g. webhook 4xx)
 *   error       anything else: retried per the kind's backoff
 *   stalled     never seen here: the worker died or lost its lock; inferred from BullMQ's
 *               failedReason when the record is built
 */
import { hostname } from 'node:os';
import { coerceError, formatAttemptLine, withDeadline, type FailureClass, type Logger } from '@conveyor/shared';
import { UnrecoverableError, type Job } from 'bullmq';
import { JobTimeoutError } from './job-timeout.ts';
import { JobValidationError } from './permanent-error.ts';

/** `host:pid` of this process, as attempt lines and records name it. */
export const WORKER_IDENTITY = `${hostname()}:${process.pid}`;

/** How long appending the attempt line may take before the failure goes on without it, in ms. */
const ATTEMPT_LOG_TIMEOUT_MS = 1_000;

export function classifyFailure(error: Error): FailureClass {
  if (error instanceof JobTimeoutError) return 'timeout';
  if (error instanceof JobValidationError) return 'validation';
  if (error instanceof UnrecoverableError || error.name === 'UnrecoverableError') return 'permanent';
  return 'error';
}

/**
 * Appends the attempt line of a failed attempt to the job's log. Never throws and never
 * waits more than a second: a lost line only costs the record some detail.
 */
export async function recordFailedAttempt(job: Job, error: Error, logger: Logger): Promise<void> {
  const line = formatAttemptLine({
    attempt: job.attemptsMade + 1,
    class: classifyFailure(error),
    message: error.message,
    ...(error.stack ? { stack: error.stack } : {}),
    at: new Date().toISOString(),
    worker: WORKER_IDENTITY,
  });
  try {
    await withDeadline(job.log(line), ATTEMPT_LOG_TIMEOUT_MS, 'appending the attempt line');
  } catch (thrown) {
    logger.warn({ err: coerceError(thrown), jobId: job.id }, 'could not append the attempt line to the job log');
  }
}
