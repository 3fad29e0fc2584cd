/**
 * The producer: the typed in-process client, and the one code path the HTTP routes use.
 *
 * ```ts
 * const producer = createProducer({ redis, prefix: 'conveyor' });
 * await producer.enqueue('email.send', { to: 'ada@example.com', subject: 'Hi', body: '…' });
 * ```
 * Payloads are checked against the catalog at compile time and parsed again at run time; the
 * parsed payload is what gets enqueued. Every Redis call fails fast (see `redis-call.ts`).
 */
import {
  createDeadLetterStore,
  createLogger,
  findJobKind,
  type DeadLetterEntry,
  type FailureClass,
  idempotencyKey,
  jobNames,
  jobOptionsFor,
  openCatalogQueues,
  type JobInput,
  type JobName,
  type Logger,
  type QueueName,
} from '@conveyor/shared';
import type { JobProgress, JobState } from 'bullmq';
import type { Redis } from 'ioredis';
import { isJobIdShaped, parseEnqueueRequest, type EnqueueOptions, type EnqueueRequest } from './enqueue-request.ts';
import { addJobOnce, idempotentJobId } from './idempotency.ts';
import { UnknownJobError } from './producer-errors.ts';
import { callRedis } from './redis-call.ts';

export * from './producer-errors.ts';
export { MAX_DELAY_MS, MAX_IDEMPOTENCY_KEY_LENGTH, MAX_JOB_ID_LENGTH, type EnqueueOptions } from './enqueue-request.ts';

export interface ProducerOptions {
  /**
   * An ioredis client in fail-fast mode (`createRedis({ mode: 'fail-fast' })`), shared by
   * every queue. The caller owns it: `close()` leaves it open; quit it afterwards.
   */
  redis: Redis;
  /** Key prefix of every queue, e.g. CONVEYOR_PREFIX. */
  prefix: string;
  /** Default: silent. */
  logger?: Logger;
  /** Bound on every Redis call, in ms; past it the call throws RedisUnavailableError. Default 500. */
  commandTimeoutMs?: number;
  /** How long a job id or idempotency key is remembered after the enqueue, in s. Default 86,400. */
  idempotencyTtlSec?: number;
}

const producerDefaults = { commandTimeoutMs: 500, idempotencyTtlSec: 86_400 };

export interface EnqueueResult<N extends JobName = JobName> {
  id: string;
  name: N;
  queue: QueueName;
  /** False when the job id or idempotency key had been enqueued before: this is that job. */
  created: boolean;
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

export interface Producer {
  /** Validates `data` against the kind's schema and enqueues it. */
  enqueue<N extends JobName>(name: N, data: JobInput<N>, options?: EnqueueOptions): Promise<EnqueueResult<N>>;
  /** The same for a name and values known only at run time (HTTP): everything is checked. */
  enqueueUnknown(name: string, data: unknown, options?: unknown): Promise<EnqueueResult>;
  /** The job's status, or undefined when there is no such job of that kind. */
  getJob<N extends JobName>(name: N, id: string): Promise<JobStatus<N> | undefined>;
  getJob(name: string, id: string): Promise<JobStatus | undefined>;
  /** Resolves when Redis answers a PING and every queue is ready, within the deadline; else RedisUnavailableError. */
  ping(): Promise<void>;
  /** Closes the queues; the Redis client stays open (the caller quits it). */
  close(): Promise<void>;
}

export function createProducer(options: ProducerOptions): Producer {
  const { redis, prefix } = options;
  const settings = {
    ...producerDefaults,
    ...(options.commandTimeoutMs !== undefined ? { commandTimeoutMs: options.commandTimeoutMs } : {}),
    ...(options.idempotencyTtlSec !== undefined ? { idempotencyTtlSec: options.idempotencyTtlSec } : {}),
  };
  const logger = options.logger ?? createLogger({ name: 'producer', level: 'silent' });
  const queues = openCatalogQueues({ connection: redis, prefix, logger });
  // Read-only use: a job that failed for good lives on as a record in its dead-letter queue.
  const deadLetters = createDeadLetterStore({ connection: redis, prefix, logger });
  const call = <T>(label: string, run: () => Promise<T>) => callRedis(redis, settings.commandTimeoutMs, label, run);

  async function enqueueParsed({ kind, data, options: enqueueOptions }: EnqueueRequest): Promise<EnqueueResult> {
    const name = kind.name as JobName;
    const queueName = kind.queue as QueueName;
    const queue = queues.get(queueName);
    const { delayMs, priority, idempotencyKey: key } = enqueueOptions;
    const jobId = enqueueOptions.jobId ?? (key !== undefined ? idempotentJobId(name, key) : undefined);
    const jobOptions = jobOptionsFor(kind, { delayMs, priority });

    if (jobId === undefined) {
      const job = await call('add job', () => queue.add(name, data, jobOptions));
      return { id: job.id!, name, queue: queueName, created: true };
    }
    const { created } = await addJobOnce(
      { redis, queue, markerKey: idempotencyKey(prefix, queueName, jobId), ttlSec: settings.idempotencyTtlSec, call },
      { name, data, jobId, options: jobOptions },
    );
    return { id: jobId, name, queue: queueName, created };
  }

  async function getJob(name: string, id: string): Promise<JobStatus | undefined> {
    const kind = findJobKind(name);
    if (!kind) throw new UnknownJobError(name, jobNames);
    if (!isJobIdShaped(id)) return undefined;
    const queue = queues.get(kind.queue as QueueName);
    let job = await call('get job', () => queue.getJob(id));
    if (!job) {
      const record = await call('get dead-letter record', () => deadLetters.get(kind.queue, id));
      return record && record.name === kind.name ? deadLetteredStatus(record) : undefined;
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
      data: job.data,
      createdAt: new Date(job.timestamp),
      processedAt: job.processedOn ? new Date(job.processedOn) : null,
      finishedAt: job.finishedOn ? new Date(job.finishedOn) : null,
      returnvalue: job.returnvalue ?? null,
      failedReason: job.failedReason || null,
      delayMs: job.delay ?? 0,
      priority: job.priority ?? 0,
    };
  }

  return {
    async enqueue(name, data, enqueueOptions) {
      return (await enqueueParsed(parseEnqueueRequest(name, data, enqueueOptions))) as EnqueueResult<typeof name>;
    },
    async enqueueUnknown(name, data, enqueueOptions) {
      return enqueueParsed(parseEnqueueRequest(name, data, enqueueOptions));
    },
    getJob: getJob as Producer['getJob'],
    async ping() {
      await call('ping', () => redis.ping());
      // A queue whose start-up failed (its INFO lost to a dropped connection) stays broken; say so.
      await call('queues ready', () => Promise.all(queues.all().map((queue) => queue.waitUntilReady())));
    },
    close: async () => {
      await Promise.all([queues.close(), deadLetters.close()]);
    },
  };
}

function deadLetteredStatus(record: DeadLetterEntry): JobStatus {
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
    data: record.data,
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
