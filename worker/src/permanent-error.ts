/**
 * A failure that retrying cannot fix (invalid payload, unknown job name, a 4xx answer, a
 * refused destination). BullMQ treats it as an `UnrecoverableError`: the job fails at once,
 * whatever attempts it has left.
 */
import { UnrecoverableError } from 'bullmq';

export class PermanentJobError extends UnrecoverableError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message);
    // UnrecoverableError names itself after the constructor; say so explicitly anyway.
    this.name = 'PermanentJobError';
    if (options.cause !== undefined) this.cause = options.cause;
  }
}

/**
 * A payload the worker cannot run: it fails its kind's schema, or names no kind of this
 * queue. Permanent like its parent, but recorded with the failure class `validation`.
 */
export class JobValidationError extends PermanentJobError {
  constructor(message: string) {
    super(message);
    this.name = 'JobValidationError';
  }
}
