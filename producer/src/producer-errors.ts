/**
 * The expected ways an enqueue or a lookup can fail. The client throws them; `http-error.ts`
 * maps each to one status and error code.
 */

/** One bad field: `path` is where it is (`data.to`, `delayMs`, `jobId`), `code` zod's issue code. */
export interface ValidationIssue {
  path: string;
  message: string;
  code: string;
}

/** The name is not a job kind of the catalog. */
export class UnknownJobError extends Error {
  override readonly name = 'UnknownJobError';
  constructor(
    readonly jobName: string,
    readonly known: readonly string[],
  ) {
    super(`unknown job "${jobName}"; known jobs: ${known.join(', ')}`);
  }
}

/** The payload or an option does not validate; `issues` names every bad field. */
export class JobValidationError extends Error {
  override readonly name = 'JobValidationError';
  constructor(readonly issues: readonly ValidationIssue[]) {
    super(`invalid job: ${issues.map((issue) => `${issue.path || '(body)'}: ${issue.message}`).join('; ')}`);
  }
}

/** The job id or idempotency key was used before for a different request (name or payload). */
export class IdempotencyConflictError extends Error {
  override readonly name = 'IdempotencyConflictError';
  constructor(
    readonly jobId: string,
    readonly queue: string,
    /** The item's index in a bulk request or topic fan-out. */
    readonly index?: number,
  ) {
    super(`job "${jobId}" on queue "${queue}" was already enqueued with a different payload`);
  }
}

/** Redis is unreachable or did not answer within the command deadline; try again shortly. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
  constructor(message = 'Redis is unavailable', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Durable enqueue: the jobs are on the Redis master, but fewer replicas than required
 * acknowledged them within the timeout, so a failover now could lose them. Retrying with the
 * same job ids or idempotency keys is safe: it finds the jobs and waits for the replicas again.
 */
export class NotReplicatedError extends Error {
  override readonly name = 'NotReplicatedError';
  constructor(
    readonly acknowledged: number,
    readonly required: number,
    readonly timeoutMs: number,
    readonly jobIds: readonly string[],
  ) {
    super(
      `the job store took the job${jobIds.length === 1 ? '' : 's'} but ${acknowledged} of the ${required} required replica(s) ` +
        `acknowledged within ${timeoutMs} ms, so it is not durable yet; retry with the same job id or idempotency key`,
    );
  }
}

/** No job with this id (for this name). The client returns undefined; the HTTP route throws this. */
export class JobNotFoundError extends Error {
  override readonly name = 'JobNotFoundError';
  constructor(
    readonly jobName: string,
    readonly jobId: string,
  ) {
    super(`no job "${jobId}" of kind "${jobName}"`);
  }
}

/** The job has started or finished (or was dead-lettered), so it cannot be cancelled. */
export class JobNotCancellableError extends Error {
  override readonly name = 'JobNotCancellableError';
  constructor(
    readonly jobName: string,
    readonly jobId: string,
    readonly state: string,
  ) {
    super(
      state === 'active'
        ? `job "${jobId}" of kind "${jobName}" is running; it cannot be cancelled`
        : `job "${jobId}" of kind "${jobName}" is ${state}; only a job that has not started can be cancelled`,
    );
  }
}

/**
 * The job is the pending next run of a recurring schedule: BullMQ keeps it for its job
 * scheduler, so it goes only by changing or deleting the schedule.
 */
export class ScheduledJobError extends Error {
  override readonly name = 'ScheduledJobError';
  constructor(
    readonly jobName: string,
    readonly jobId: string,
    readonly state: string,
    readonly scheduleId: string,
  ) {
    super(`job "${jobId}" of kind "${jobName}" is the next run of schedule "${scheduleId}"; change or delete the schedule instead`);
  }
}

/** The name is not a topic of the catalog. */
export class UnknownTopicError extends Error {
  override readonly name = 'UnknownTopicError';
  constructor(
    readonly topic: string,
    readonly known: readonly string[],
  ) {
    super(`unknown topic "${topic}"; known topics: ${known.join(', ')}`);
  }
}

/** No recurring schedule has this id. */
export class ScheduleNotFoundError extends Error {
  override readonly name = 'ScheduleNotFoundError';
  constructor(readonly scheduleId: string) {
    super(`no schedule "${scheduleId}"`);
  }
}

/** A bulk request carries more items than allowed (BULK_MAX_JOBS). */
export class TooManyItemsError extends Error {
  override readonly name = 'TooManyItemsError';
  constructor(
    readonly count: number,
    readonly limit: number,
  ) {
    super(`a bulk request may carry at most ${limit} jobs, got ${count}; split it`);
  }
}
