/**
 * One BullMQ Worker for one catalog queue, and what happens to each job it takes.
 *
 * The life of a job here:
 *  1. Fetch. BullMQ moves the job from waiting to active and locks it for this worker; the
 *     lock is renewed while we run, so no other worker takes it.
 *  2. Look up its kind by `job.name` in the catalog. An unknown name, or a kind that lives on
 *     another queue, fails the job permanently: no retry can teach us a new kind.
 *  3. Decrypt the payload's sealed (sensitive) fields in memory (@conveyor/shared
 *     payload-crypto/); `job.data` in Redis stays sealed. A field that cannot be opened (no
 *     key, an unknown key id, a value that fails authentication) fails permanently, naming the
 *     field and key id, never a value. Then validate the plain payload against the kind's
 *     schema again (the producer is not the only writer, and old jobs outlive schema changes).
 *     A violation fails permanently, naming every bad field: `validation: data.to: Invalid
 *     email address`. Neither message carries a payload value.
 *  4. Run the handler with a signal that fires at the kind's `policy.timeoutMs` or when the
 *     worker gives up on the job. The attempt ends at the deadline even if the handler
 *     ignores the signal: it fails with `TimeoutError: timeout after N ms`.
 *  5. Finish. A result completes the job. A `PermanentJobError` (an UnrecoverableError)
 *     fails it at once. Any other error fails the attempt: BullMQ schedules the next one
 *     after the kind's backoff, or fails the job for good after its last attempt.
 *     Every failed attempt first appends its class and error to the job log (attempt-log.ts);
 *     a job that failed for good is then dead-lettered (@conveyor/shared dead-letter/).
 *  6. Shutdown. `stopWorkers` stops fetching and lets active jobs finish; jobs still running
 *     at SHUTDOWN_TIMEOUT_MS have their signal fired and are put back to waiting (not
 *     counted as an attempt), so another worker runs them again: at-least-once. If even that
 *     fails (Redis away), the lock expires and BullMQ's stalled-job check recovers them.
 */
import {
  coerceError,
  createPayloadSealer,
  findJobKind,
  SealedFieldError,
  type PayloadSealer,
  type ConveyorRedisOptions,
  type DeadLetterStore,
  type QueueModelRecorder,
  jobNames,
  withDeadline,
  catalog,
  customBackoffStrategy,
  queueLockSettings,
  queuePrefix,
  type AnyJobKind,
  type JobName,
  type Logger,
  type QueueLockSettings,
  type QueueName,
} from '@conveyor/shared';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { Cluster } from 'ioredis';
import type { z } from 'zod';
import { recordFailedAttempt } from './attempt-log.ts';
import type { Handler, HandlerContext, HandlerTable, JsonValue } from './handler.ts';
import { abortReason, AttemptControl } from './job-timeout.ts';
import { JobValidationError, PermanentJobError } from './permanent-error.ts';
import { SHUTDOWN_ABORT_REASON } from './stop-workers.ts';

/** Running totals over every attempt this process has finished, for the health endpoint. */
export interface WorkerStats {
  /** Attempts finished, completed or failed. */
  processed: number;
  /** Attempts that failed (retried or not). */
  failed: number;
  /** Attempts running now. */
  active: number;
  /** Attempts running now, by queue (the queue model's heartbeat reports them). */
  activeByQueue: Partial<Record<QueueName, number>>;
}

export function createWorkerStats(): WorkerStats {
  return { processed: 0, failed: 0, active: 0, activeByQueue: {} };
}

export interface StartWorkerDeps {
  /**
   * `bullConnection`, wait-out mode: ioredis options (BullMQ owns the connections), or on a
   * Cluster a Cluster the caller closes after the worker.
   */
  connection: ConveyorRedisOptions | Cluster;
  /** The BullMQ key prefix. */
  prefix: string;
  /** Jobs this worker runs at once. */
  concurrency: number;
  handlers: HandlerTable;
  logger: Logger;
  /** Per-kind replacement of `policy.timeoutMs`, in ms (WORKER_JOB_TIMEOUT_MS). Default: the catalog's. */
  timeoutMs?: Partial<Record<JobName, number>>;
  /** Counters to update; default a private set. */
  stats?: WorkerStats;
  /** Dead-letters jobs that fail for good; without it they stay in `failed` until a sweep. */
  deadLetters?: DeadLetterStore;
  /** Lock duration, stalled-check interval and max stalls. Default: the queue's catalog settings. */
  locks?: QueueLockSettings;
  /** Start fetching at once. Default true; main.ts passes false and calls `run()` once the Redis gate passed. */
  autorun?: boolean;
  /** Records each attempt's wait and service time for the queue model; without it, nothing is recorded. */
  recorder?: QueueModelRecorder;
  /**
   * Opens sealed payload fields before validation (PAYLOAD_ENCRYPTION_KEYS). Default: a sealer
   * without keys, which runs plain payloads and fails sealed ones permanently.
   */
  sealer?: PayloadSealer;
}

/** How long putting an aborted job back to waiting may take at shutdown, in ms. */
const RELEASE_TIMEOUT_MS = 2_000;
/** The same worker error is logged at most once per this many ms (Redis outages repeat them). */
const ERROR_LOG_INTERVAL_MS = 30_000;
/**
 * How long an idle worker's blocking fetch waits before asking again, in SECONDS (BullMQ's
 * unit). Kept at 5 so a fetch stuck on a dead connection is renewed within seconds.
 */
const DRAIN_DELAY_SEC = 5;
/** Opens nothing: a job with a sealed field fails permanently, saying the key is missing. */
const keylessSealer = createPayloadSealer({ keys: [] });
/** Runs the `custom:<kind>` backoffs the catalog declares (see catalog/define.ts). */
const backoffStrategy = customBackoffStrategy(findJobKind);

/**
 * A BullMQ Worker whose `cancelJob` / `cancelAllJobs` (what `stopWorkers` calls at the
 * shutdown timeout) also abort Conveyor's attempts, whose signals BullMQ does not own.
 */
class ConveyorWorker extends Worker {
  /** The attempts running now, by job id. */
  readonly attempts = new Map<string, AttemptControl>();

  override cancelJob(jobId: string, reason?: string): boolean {
    const control = this.attempts.get(jobId);
    control?.abort(abortReason({ reason }));
    return super.cancelJob(jobId, reason) || control !== undefined;
  }

  override cancelAllJobs(reason?: string): void {
    for (const control of this.attempts.values()) control.abort(abortReason({ reason }));
    super.cancelAllJobs(reason);
  }
}

/** What a handler is given for one attempt; a class, so that an attempt allocates no closures. */
class AttemptContext implements HandlerContext {
  readonly jobId: string;
  readonly attempt: number;
  readonly attempts: number;
  /** Set when the attempt ended: progress reported later by a handler that ignored its signal is dropped. */
  settled = false;
  #logger: Logger | undefined;

  constructor(
    private readonly job: Job,
    private readonly name: JobName,
    private readonly control: AttemptControl,
    private readonly queueLogger: Logger,
  ) {
    this.jobId = job.id ?? '';
    this.attempt = job.attemptsMade + 1;
    this.attempts = job.opts.attempts ?? 1;
  }

  get signal(): AbortSignal {
    return this.control.signal;
  }

  /** Made on first use: a pino child per job is measurable at thousands of jobs a second. */
  get logger(): Logger {
    return (this.#logger ??= this.queueLogger.child({ jobId: this.jobId, job: this.name, attempt: this.attempt }));
  }

  async progress(percent: number): Promise<void> {
    if (!this.settled) await this.job.updateProgress(percent);
  }
}

export function startWorker(queue: QueueName, deps: StartWorkerDeps): Worker {
  const stats = deps.stats ?? createWorkerStats();
  const logger = deps.logger.child({ queue });
  const recorder = deps.recorder;
  const sealer = deps.sealer ?? keylessSealer;
  // Filled in below: the processor needs the worker to register each attempt's control.
  let worker: ConveyorWorker;

  // Two parameters: BullMQ makes an AbortController per job only for processors that declare
  // a third; Conveyor aborts its own attempts (ConveyorWorker), making a signal only on demand.
  const processor = async (job: Job, token: string | undefined): Promise<JsonValue> => {
    const startedAtMs = Date.now();
    // Wait is measured once per job, from enqueue (or due time) to its first start.
    const readyAtMs = job.attemptsMade === 0 && job.attemptsStarted <= 1 ? job.timestamp + (job.delay ?? 0) : undefined;
    try {
      const result = await runAttempt(job, token);
      recorder?.attempt(queue, { readyAtMs, startedAtMs, finishedAtMs: Date.now(), ok: true });
      return result;
    } catch (thrown) {
      if (thrown instanceof WaitingError) throw thrown;
      recorder?.attempt(queue, { readyAtMs, startedAtMs, finishedAtMs: Date.now(), ok: false });
      // Every failed attempt leaves its class, message and stack in the job log (attempt-log.ts).
      const error = coerceError(thrown);
      await recordFailedAttempt(job, error, logger);
      throw error;
    }
  };

  const runAttempt = async (job: Job, token: string | undefined): Promise<JsonValue> => {
    const kind = findJobKind(job.name);
    if (!kind || kind.queue !== queue) throw new JobValidationError(unknownKindMessage(job.name, queue));
    const parsed = kind.schema.safeParse(openPayload(sealer, kind, job.data));
    if (!parsed.success) throw new JobValidationError(`validation: ${describeIssues(parsed.error.issues)}`);

    const name = kind.name as JobName;
    const handler = deps.handlers[name] as Handler<JobName>;
    const control = new AttemptControl();
    const context = new AttemptContext(job, name, control, logger);
    const jobId = job.id ?? '';
    worker.attempts.set(jobId, control);
    stats.active++;
    stats.activeByQueue[queue] = (stats.activeByQueue[queue] ?? 0) + 1;
    try {
      return await control.run(() => handler(parsed.data as never, context), deps.timeoutMs?.[name] ?? kind.policy.timeoutMs);
    } catch (thrown) {
      if (control.aborted && (control.reason as Error).message === SHUTDOWN_ABORT_REASON) {
        await releaseJob(job, token, context.logger);
        // Tells BullMQ the job has left the active state without finishing.
        throw new WaitingError();
      }
      throw coerceError(thrown);
    } finally {
      context.settled = true;
      worker.attempts.delete(jobId);
      stats.active--;
      stats.activeByQueue[queue] = (stats.activeByQueue[queue] ?? 1) - 1;
    }
  };

  const locks = deps.locks ?? queueLockSettings(catalog.queues[queue]);
  worker = new ConveyorWorker(queue, processor, {
    connection: deps.connection,
    prefix: queuePrefix(deps.prefix, queue),
    concurrency: deps.concurrency,
    autorun: deps.autorun ?? true,
    lockDuration: locks.lockDurationMs,
    ...(locks.lockRenewMs !== undefined ? { lockRenewTime: locks.lockRenewMs } : {}),
    stalledInterval: locks.stalledIntervalMs,
    maxStalledCount: locks.maxStalledCount,
    drainDelay: DRAIN_DELAY_SEC,
    settings: { backoffStrategy },
    // No BullMQ `metrics` option: its counters cost two Redis commands in every job's
    // finishing script. The queue model counts departures in the recorder instead
    // (@conveyor/shared queue-model/snapshot.ts says what that trades).
  });

  let lastError = { message: '', atMs: 0 };
  worker.on('error', (error: Error) => {
    const now = Date.now();
    if (error.message === lastError.message && now - lastError.atMs < ERROR_LOG_INTERVAL_MS) return;
    lastError = { message: error.message, atMs: now };
    logger.warn({ err: coerceError(error) }, 'worker error');
  });
  worker.on('completed', (job) => {
    stats.processed++;
    logger.debug({ jobId: job.id, job: job.name, attempt: job.attemptsMade }, 'job completed');
  });
  worker.on('failed', (job, error) => {
    stats.processed++;
    stats.failed++;
    // finishedOn: BullMQ also fails a job for good when a backoff strategy says "no retry".
    const final =
      error instanceof UnrecoverableError ||
      (job !== undefined && (job.attemptsMade >= (job.opts.attempts ?? 1) || job.finishedOn !== undefined));
    const fields = { jobId: job?.id, job: job?.name, attemptsMade: job?.attemptsMade, reason: error.message };
    if (final) logger.warn(fields, 'job failed for good');
    else logger.debug(fields, 'job attempt failed; will retry');
    if (final && job && deps.deadLetters) {
      deps.deadLetters.deadLetter(job).then(
        ({ outcome, recordId }) => {
          if (outcome === 'not-failed' || outcome === 'gone') logger.debug({ ...fields, outcome }, 'job not dead-lettered here');
          else {
            if (outcome === 'recorded') deps.recorder?.deadLettered(queue);
            logger.info({ ...fields, recordId, outcome }, 'job dead-lettered');
          }
        },
        (thrown: unknown) => logger.warn({ ...fields, err: coerceError(thrown) }, 'could not dead-letter the job; the sweep will'),
      );
    }
  });
  return worker;
}

/** Puts an aborted job back to waiting; if Redis cannot be reached, stalled-job recovery will. */
async function releaseJob(job: Job, token: string | undefined, logger: Logger): Promise<void> {
  try {
    await withDeadline(job.moveToWait(token), RELEASE_TIMEOUT_MS, 'moving the job back to waiting');
    logger.info('job aborted by shutdown; back to waiting');
  } catch (error) {
    logger.warn({ err: coerceError(error) }, 'job aborted by shutdown; left to stalled-job recovery');
  }
}

/** The payload with its sealed fields decrypted, in memory only; a field that cannot be opened fails the job for good. */
function openPayload(sealer: PayloadSealer, kind: AnyJobKind, data: unknown): unknown {
  try {
    return sealer.open(kind, data);
  } catch (error) {
    if (error instanceof SealedFieldError) throw new PermanentJobError(error.message, { cause: error });
    throw error;
  }
}

function unknownKindMessage(name: string, queue: QueueName): string {
  const kind = findJobKind(name);
  if (kind) return `job kind "${name}" belongs to queue "${kind.queue}", not "${queue}"`;
  const known = jobNames.filter((jobName) => findJobKind(jobName)?.queue === queue);
  return `unknown job name "${name}" on queue "${queue}"; known: ${known.join(', ')}`;
}

/** `data.to: Invalid email address; data.subject: Too small…` */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) => `${['data', ...issue.path.map(String)].join('.')}: ${issue.message}`).join('; ');
}
