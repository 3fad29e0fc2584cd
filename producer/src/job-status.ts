/**
 * Reading one job back, and cancelling it. Both look the job up by kind and id: an id that
 * names a job of another kind is no job of this one. A job that failed for good lives on as a
 * record in its dead-letter queue and reads as `dead-lettered`.
 *
 * Cancel removes a job that has not started (waiting, prioritized, delayed, paused): BullMQ's
 * remove refuses a job locked by a worker, so a job that starts between the state read and the
 * remove is reported active, never half-removed. A running or finished job is not cancelled
 * (409 with its state): its handler may have had effects already. Neither is the pending next
 * run of a recurring schedule (id `repeat:<schedule id>:<ms>`): BullMQ refuses to remove it
 * while its scheduler lives, and the answer says to change or delete the schedule instead.
 */
import {
  findJobKind,
  jobNames,
  type AnyJobKind,
  type CatalogQueues,
  type DeadLetterEntry,
  type DeadLetterStore,
  type FailureClass,
  type JobName,
  type QueueName,
} from '@conveyor/shared';
import type { JobProgress, JobState } from 'bullmq';
import { isJobIdShaped } from './enqueue-request.ts';
import { JobNotCancellableError, JobNotFoundError, ScheduledJobError, UnknownJobError } from './producer-errors.ts';

export interface JobLookupDeps {
  queues: CatalogQueues;
  deadLetters: Pick<DeadLetterStore, 'get'>;
  /** Runs one Redis call under the producer's deadline and fail-fast rules. */
  call: <T>(label: string, run: () => Promise<T>) => Promise<T>;
  /** The payload as shown to callers: sensitive fields masked. */
  displayData: (kind: AnyJobKind, data: unknown) => unknown;
}

/** BullMQ's states, plus `dead-lettered`: failed for good and kept in `<queue>-dlq`. */
export type JobStatusState = JobState | 'dead-lettered';

/** What the dead-letter record says, for a dead-lettered job. */
export interface DeadLetterSummary {
  /** Class of the final failure: error, timeout, validation, permanent or stalled. */
  reason: FailureClass;
  deadLetteredAt: Date;
  /** Times this job id was redriven before. */
  redriveCount: number;
}

/** One job as a caller sees it. */
export interface JobStatus<N extends JobName = JobName> {
  id: string;
  name: N;
  queue: QueueName;
  state: JobStatusState;
  /** What the handler last reported, usually 0–100. */
  progress: JobProgress;
  /** Attempts that finished (failed or succeeded) so far. */
  attemptsMade: number;
  /** Attempts allowed in all. */
  attempts: number;
  /** The payload as stored. */
  data: unknown;
  createdAt: Date;
  /** When the latest attempt started; null before the first. */
  processedAt: Date | null;
  /** When the job completed or failed for good; null before. */
  finishedAt: Date | null;
  /** The handler's return value once completed, else null. */
  returnvalue: unknown;
  /** The latest failure's message, else null. */
  failedReason: string | null;
  /** Delay asked for at enqueue, in ms. */
  delayMs: number;
  /** 0 = none, 1 = highest. */
  priority: number;
  /** Present when `state` is `dead-lettered`. */
  deadLetter?: DeadLetterSummary;
}

/** The job's status, or undefined when there is no such job of that kind. */
export async function readJobStatus(deps: JobLookupDeps, name: string, id: string): Promise<JobStatus | undefined> {
  const { queues, deadLetters, call } = deps;
  const kind = findJobKind(name);
  if (!kind) throw new UnknownJobError(name, jobNames);
  if (!isJobIdShaped(id)) return undefined;
  const queue = queues.get(kind.queue as QueueName);
  let job = await call('get job', () => queue.getJob(id));
  if (!job) {
    const record = await call('get dead-letter record', () => deadLetters.get(kind.queue, id));
    return record && record.name === kind.name ? deadLetteredStatus(deps, kind, record) : undefined;
  }
  // The id may name a job of another kind on the same queue.
  if (job.name !== kind.name) return undefined;
  const state = await call('get job state', () => job!.getState());
  if (state === 'unknown') return undefined;
  // The hash was read before the state: a job that finished in between still shows its last
  // running snapshot (progress 90, no result). A finished job changes no more, so read it again.
  if ((state === 'completed' || state === 'failed') && job.finishedOn === undefined) {
    job = (await call('get job', () => queue.getJob(id))) ?? job;
  }
  return {
    id,
    name: kind.name as JobName,
    queue: kind.queue as QueueName,
    state,
    progress: job.progress,
    attemptsMade: job.attemptsMade,
    attempts: job.opts.attempts ?? 1,
    data: deps.displayData(kind, job.data),
    createdAt: new Date(job.timestamp),
    processedAt: job.processedOn ? new Date(job.processedOn) : null,
    finishedAt: job.finishedOn ? new Date(job.finishedOn) : null,
    returnvalue: job.returnvalue ?? null,
    failedReason: job.failedReason || null,
    delayMs: job.delay ?? 0,
    priority: job.priority ?? 0,
  };
}


/** What a cancel did. */
export interface CancelResult {
  id: string;
  name: JobName;
  queue: QueueName;
  state: 'cancelled';
  /** The state the job was removed from. */
  previousState: JobState;
}

/** States a job can be cancelled from: it has not started. */
const CANCELLABLE: ReadonlySet<string> = new Set(['waiting', 'prioritized', 'delayed', 'paused', 'waiting-children']);

/** Removes a job that has not started; JobNotFoundError, or JobNotCancellableError with its state. */
export async function cancelJob(deps: JobLookupDeps, name: string, id: string): Promise<CancelResult> {
  const kind = findJobKind(name);
  if (!kind) throw new UnknownJobError(name, jobNames);
  const queueName = kind.queue as QueueName;
  if (!isJobIdShaped(id)) throw new JobNotFoundError(name, id);
  const queue = deps.queues.get(queueName);
  const job = await deps.call('get job', () => queue.getJob(id));
  if (!job || job.name !== kind.name) {
    const record = job ? undefined : await deps.call('get dead-letter record', () => deps.deadLetters.get(kind.queue, id));
    if (record && record.name === kind.name) throw new JobNotCancellableError(name, id, 'dead-lettered');
    throw new JobNotFoundError(name, id);
  }
  const state = await deps.call('get job state', () => job.getState());
  if (state === 'unknown') throw new JobNotFoundError(name, id);
  if (!CANCELLABLE.has(state)) throw new JobNotCancellableError(name, id, state);
  try {
    await deps.call('remove job', () => job.remove());
  } catch (error) {
    // Taken by a worker since the state was read (BullMQ refuses to remove a locked job).
    const now = await deps.call('get job state', () => job.getState());
    if (now === 'unknown') throw new JobNotFoundError(name, id);
    if (!CANCELLABLE.has(now)) throw new JobNotCancellableError(name, id, now);
    if (job.repeatJobKey !== undefined) throw new ScheduledJobError(name, id, now, job.repeatJobKey);
    throw error;
  }
  return { id, name: kind.name as JobName, queue: queueName, state: 'cancelled', previousState: state };
}

function deadLetteredStatus(deps: JobLookupDeps, kind: AnyJobKind, record: DeadLetterEntry): JobStatus {
  const lastAttempt = record.attempts.at(-1);
  const options = record.opts as { attempts?: number; delay?: number; priority?: number };
  return {
    id: record.sourceJobId,
    name: record.name as JobName,
    queue: record.sourceQueue as QueueName,
    state: 'dead-lettered',
    progress: 0,
    attemptsMade: record.attemptsMade,
    attempts: options.attempts ?? record.attemptsMade,
    data: deps.displayData(kind, record.data),
    createdAt: new Date(record.enqueuedAt),
    processedAt: lastAttempt ? new Date(lastAttempt.at) : null,
    finishedAt: new Date(record.deadLetteredAt),
    returnvalue: null,
    failedReason: record.failedReason,
    delayMs: options.delay ?? 0,
    priority: options.priority ?? 0,
    deadLetter: {
      reason: record.reason,
      deadLetteredAt: new Date(record.deadLetteredAt),
      redriveCount: record.redriveCount,
    },
  };
}
