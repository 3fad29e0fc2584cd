/**
 * The producer: the typed in-process client, and the one code path the HTTP routes use.
 *
 * ```ts
 * const producer = createProducer({ redis, prefix: 'conveyor' });
 * await producer.enqueue('email.send', { to: 'ada@example.com', subject: 'Hi', body: '…' });
 * ```
 * Payloads are checked against the catalog at compile time and parsed again at run time; the
 * parsed payload is what gets enqueued. Every Redis call fails fast (see `redis-call.ts`).
 *
 * It covers everything the HTTP API does: single and bulk enqueue (enqueue-jobs.ts), reading
 * and cancelling a job (job-status.ts), publishing to a topic (publish-event.ts) and recurring
 * schedules (schedules.ts). The HTTP routes are thin layers over these methods.
 */
import {
  createDeadLetterStore,
  createLogger,
  createPayloadSealer,
  createSearchIndexWriter,
  maskSensitive,
  openCatalogQueues,
  type AnyJobKind,
  type PayloadKey,
  type JobInput,
  type JobName,
  type Logger,
  type RedisClient,
  type TopicEvent,
  type TopicName,
  waitForReplicas,
} from '@conveyor/shared';
import { parseBulkItems, type BulkItem } from './bulk-request.ts';
import { parseEnqueueRequest, type EnqueueOptions, type EnqueueRequest, type OptionsSource } from './enqueue-request.ts';
import { enqueueJobs, type EnqueueResult } from './enqueue-jobs.ts';
import { cancelJob, readJobStatus, type CancelResult, type JobStatus } from './job-status.ts';
import { JobValidationError, type ValidationIssue } from './producer-errors.ts';
import { planPublish, type PublishOptions, type PublishResult } from './publish-event.ts';
import { callRedis } from './redis-call.ts';
import { createScheduleStore, type ScheduleStore } from './schedules.ts';

export * from './producer-errors.ts';
export { MAX_DELAY_MS, MAX_IDEMPOTENCY_KEY_LENGTH, MAX_JOB_ID_LENGTH, type EnqueueOptions, type RequestEnqueueOptions } from './enqueue-request.ts';
export { BULK_CHUNK_SIZE, type EnqueueResult } from './enqueue-jobs.ts';
export { DEFAULT_BULK_MAX_JOBS, type BulkItem } from './bulk-request.ts';
export type { CancelResult, DeadLetterSummary, JobStatus, JobStatusState } from './job-status.ts';
export type { PublishOptions, PublishResult } from './publish-event.ts';
export type { ScheduleSpec, ScheduleStore, ScheduleView } from './schedules.ts';

export interface ProducerOptions {
  /**
   * An ioredis client in fail-fast mode (`createRedis({ mode: 'fail-fast' })`), shared by
   * every queue. The caller owns it: `close()` leaves it open; quit it afterwards.
   */
  redis: RedisClient;
  /** Key prefix of every queue, e.g. CONVEYOR_PREFIX. */
  prefix: string;
  /** Default: silent. */
  logger?: Logger;
  /** Bound on every Redis call, in ms; past it the call throws RedisUnavailableError. Default 500. */
  commandTimeoutMs?: number;
  /** How long a job id or idempotency key is remembered after the enqueue, in s. Default 86,400. */
  idempotencyTtlSec?: number;
  /**
   * PAYLOAD_ENCRYPTION_KEYS parsed (`parsePayloadKeys`): the first seals the catalog's sensitive
   * fields before they reach Redis. Default none: kinds with sensitive fields are refused
   * (EncryptionKeyMissingError), never stored in plain text.
   */
  payloadKeys?: readonly PayloadKey[];
  /**
   * Durable enqueue (PRODUCER_DURABLE_ENQUEUE): an enqueue resolves only once `replicas`
   * replicas have its jobs (Redis WAIT, at most `timeoutMs` ms); otherwise it throws
   * NotReplicatedError. Default: off (acknowledged once the master has the jobs).
   */
  durable?: { replicas: number; timeoutMs: number };
}

const producerDefaults = { commandTimeoutMs: 500, idempotencyTtlSec: 86_400 };

/** One item of a typed bulk enqueue: a kind, its payload and its options. */
export type TypedBulkItem = { [N in JobName]: { name: N; data: JobInput<N> } & EnqueueOptions }[JobName];

/** What a bulk enqueue did: one entry per item, in order. */
export interface BulkResult {
  /** The items enqueued (or found: `created: false`), with their index in the request. */
  jobs: (EnqueueResult & { index: number })[];
  /** With `partial`: the items refused, with every bad field; empty otherwise. */
  rejected: { index: number; issues: ValidationIssue[] }[];
}

export interface BulkOptions {
  /**
   * Enqueue the valid items and report the bad ones, instead of refusing the whole request
   * when one item is bad. Default false (all or nothing).
   */
  partial?: boolean;
}

/** Options of `enqueueBulkUnknown`. */
export interface UnknownBulkOptions extends BulkOptions {
  /** Fixes the kind of every item (`/v1/jobs/{name}/bulk`). Default: each item names its own. */
  name?: string;
  /**
   * Runs once the items are validated and before anything is enqueued, with how many will be
   * (at least 1); a throw refuses the request and nothing is enqueued. The HTTP route charges
   * its rate limit here, so that refused items cost nothing. Default: none.
   */
  beforeEnqueue?: (jobs: number) => Promise<void>;
}

export interface Producer {
  /** Validates `data` against the kind's schema and enqueues it; trusted code may choose a `jobId`. */
  enqueue<N extends JobName>(name: N, data: JobInput<N>, options?: EnqueueOptions): Promise<EnqueueResult<N>>;
  /**
   * The same for a name and values known only at run time (HTTP): everything is checked, and
   * the options are the request allowlist (RequestEnqueueOptions): a `jobId` is refused.
   */
  enqueueUnknown(name: string, data: unknown, options?: unknown): Promise<EnqueueResult>;
  /** Enqueues many jobs of any kinds, one Redis round trip per chunk; all or nothing unless `partial`. */
  enqueueBulk(items: readonly TypedBulkItem[], options?: BulkOptions): Promise<BulkResult>;
  /** The same for items known only at run time, a `jobId` refused like in enqueueUnknown. */
  enqueueBulkUnknown(items: readonly unknown[], options?: UnknownBulkOptions): Promise<BulkResult>;
  /** The job's status, or undefined when there is no such job of that kind. */
  getJob<N extends JobName>(name: N, id: string): Promise<JobStatus<N> | undefined>;
  getJob(name: string, id: string): Promise<JobStatus | undefined>;
  /** Removes a job that has not started; JobNotFoundError, or JobNotCancellableError with its state. */
  cancel(name: string, id: string): Promise<CancelResult>;
  /** Publishes an event: one job per subscriber of the topic. */
  publish<T extends TopicName>(topic: T, event: TopicEvent<T>, options?: PublishOptions): Promise<PublishResult>;
  /** The same for a topic and event known only at run time. */
  publishUnknown(topic: string, event: unknown, options?: PublishOptions): Promise<PublishResult>;
  /** Recurring schedules: list, get, upsert, remove, and the catalog's. */
  schedules: ScheduleStore;
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
  const sealer = createPayloadSealer({ keys: options.payloadKeys ?? [] });
  // Sensitive fields are sealed after validation (validation needs the plain text) and masked whenever shown.
  const storedData = (kind: AnyJobKind, data: unknown) => sealer.seal(kind, data);
  const displayData = (kind: AnyJobKind, data: unknown) => maskSensitive(kind, data);
  const writeIndex = createSearchIndexWriter(redis);
  const lookup = { queues, deadLetters, call, displayData };
  const durable = options.durable && {
    ...options.durable,
    wait: () =>
      callRedis(redis, settings.commandTimeoutMs + options.durable!.timeoutMs, 'replica acknowledgement', () =>
        waitForReplicas(redis, options.durable!.replicas, options.durable!.timeoutMs),
      ),
  };
  const enqueue = (requests: readonly EnqueueRequest[]) =>
    enqueueJobs(
      {
        redis,
        queues,
        prefix,
        idempotencyTtlSec: settings.idempotencyTtlSec,
        call,
        storedData: (request) => storedData(request.kind, request.data),
        writeIndex,
        onIndexError: (error) => logger.warn({ err: error }, 'could not index enqueued jobs for search; they are enqueued, and found by id'),
        ...(durable ? { durable } : {}),
      },
      requests,
    );

  async function enqueueBulk(items: readonly unknown[], bulkOptions: UnknownBulkOptions, source: OptionsSource): Promise<BulkResult> {
    const { requests, issues, bad } = parseBulkItems(items, bulkOptions.name, source);
    if (issues.length > 0 && !bulkOptions.partial) throw new JobValidationError(issues);
    const valid = requests.flatMap((request, index) => (request && !bad.has(index) ? [{ request, index }] : []));
    if (valid.length > 0) await bulkOptions.beforeEnqueue?.(valid.length);
    const results = valid.length > 0 ? await enqueue(valid.map((entry) => entry.request)) : [];
    const rejected = [...bad].sort((a, b) => a - b).map((index) => ({
      index,
      issues: issues.filter((issue) => issue.path === `jobs.${index}` || issue.path.startsWith(`jobs.${index}.`)),
    }));
    return { jobs: results.map((result, i) => ({ ...result, index: valid[i]!.index })), rejected };
  }

  async function publishUnknown(topic: string, event: unknown, publishOptions: PublishOptions = {}): Promise<PublishResult> {
    const { eventId, requests } = planPublish(topic, event, publishOptions);
    return { topic, eventId, jobs: await enqueue(requests) };
  }

  return {
    async enqueue(name, data, enqueueOptions) {
      const [result] = await enqueue([parseEnqueueRequest(name, data, enqueueOptions, 'app')]);
      return result as EnqueueResult<typeof name>;
    },
    async enqueueUnknown(name, data, enqueueOptions) {
      const [result] = await enqueue([parseEnqueueRequest(name, data, enqueueOptions)]);
      return result!;
    },
    enqueueBulk: (items, bulkOptions = {}) => enqueueBulk(items, bulkOptions, 'app'),
    enqueueBulkUnknown: (items, bulkOptions = {}) => enqueueBulk(items, bulkOptions, 'request'),
    getJob: ((name: string, id: string) => readJobStatus(lookup, name, id)) as Producer['getJob'],
    cancel: (name, id) => cancelJob(lookup, name, id),
    publish: (topic, event, publishOptions) => publishUnknown(topic, event, publishOptions),
    publishUnknown,
    schedules: createScheduleStore({ queues, call, storedData, displayData }),
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
