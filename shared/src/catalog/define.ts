/**
 * The small typed API the catalog is written in: queues, job kinds and their policy.
 *
 * A job kind is a name `<queue>.<verb>`, the queue it runs on, a zod schema for its payload
 * and a policy. Types flow from the schema: the producer's `enqueue('email.send', data)` and
 * the worker's handler for `email.send` are both checked against it.
 */
import type { BackoffOptions, JobsOptions } from 'bullmq';
import type { z } from 'zod';
import { payloadPathProblems, readPath } from '../payload-crypto/payload-path.ts';

/**
 * A catalog-declared backoff: the wait before the next try, in ms, given the tries made so far
 * (1 after the first failure) and the error of the last one. Return -1 to stop retrying.
 */
export type BackoffFunction = (attemptsMade: number, error: Error) => number;

export type BackoffPolicy =
  | {
      /** `fixed`: the same delay every time; `exponential`: delayMs · 2^(attemptsMade-1). */
      type: 'fixed' | 'exponential';
      /** Base delay between attempts, in ms. */
      delayMs: number;
      /** Random spread as a fraction of the delay, 0–1 (0.2 = up to 20 % shorter). Default 0. */
      jitter?: number;
    }
  | {
      /** `custom`: `delayMsFor` decides; the worker runs it through BullMQ's backoffStrategy. */
      type: 'custom';
      delayMsFor: BackoffFunction;
    };

export interface RetentionPolicy {
  /** Keep at most this many jobs… */
  count: number;
  /** …and none older than this, in seconds. */
  ageSec: number;
}

export interface JobPolicy {
  /** Total tries including the first. Default 3. */
  attempts: number;
  /** Wait between tries. Default exponential from 1 s with 20 % jitter. */
  backoff: BackoffPolicy;
  /** Longest one attempt may run, in ms; past it the attempt fails as a timeout. Default 30 s. */
  timeoutMs: number;
  /** BullMQ priority: 0 = none (served first), 1 = highest … 2,097,151 = lowest. Default 0. */
  priority: number;
  /**
   * How many completed jobs Redis keeps. Default 1 day / 10,000. Failed jobs have no such
   * limit: they stay until dead-lettered, and the DLQ's retention (DEAD_LETTER_MAX_*) bounds those.
   */
  retention: { completed: RetentionPolicy };
}

export const defaultJobPolicy: JobPolicy = {
  attempts: 3,
  backoff: { type: 'exponential', delayMs: 1_000, jitter: 0.2 },
  timeoutMs: 30_000,
  priority: 0,
  retention: {
    completed: { count: 10_000, ageSec: 24 * 3600 },
  },
};

/** BullMQ's bounds on priority. */
export const MAX_PRIORITY = 2_097_151;

export interface QueueDefinition {
  /** One line for people: what runs on this queue. */
  description: string;
  /** Jobs one worker process runs at once on this queue. Default: WORKER_CONCURRENCY. */
  concurrency?: number;
  /** How long a worker's lock on a running job lasts unrenewed, in ms (renewed every half). Default 15,000. */
  lockDurationMs?: number;
  /** How often a worker renews the locks of its running jobs, in ms; below lockDurationMs. Default: half the lock duration. */
  lockRenewMs?: number;
  /** How often workers look for jobs whose lock expired (their worker died), in ms. Default 10,000. */
  stalledIntervalMs?: number;
  /** Times a job may stall and be put back to waiting before it fails as stalled. Default 1. */
  maxStalledCount?: number;
  /**
   * Jobs of this queue running at once across every worker process (BullMQ global
   * concurrency), an integer ≥ 1. Default: no fleet-wide cap, only each process's `concurrency`.
   */
  globalConcurrency?: number;
  /** Job starts of this queue across every worker process, at most `max` per `durationMs`. Default: none. */
  rateLimit?: RateLimit;
}

/**
 * A fleet-wide rate limit: at most `max` job starts per `durationMs` (BullMQ's global rate
 * limit, a fixed window that opens at the first start after the previous window closed).
 */
export interface RateLimit {
  /** Job starts per window, an integer ≥ 1. */
  max: number;
  /** The window, in ms, an integer ≥ 1. */
  durationMs: number;
}

/** A queue's fleet-wide limits; an absent field means "no such limit". */
export interface FleetLimits {
  globalConcurrency?: number;
  rateLimit?: RateLimit;
}

/** How a queue's running jobs are locked and recovered when their worker dies. */
export interface QueueLockSettings {
  lockDurationMs: number;
  /** Absent: BullMQ renews every half lock duration. */
  lockRenewMs?: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
}

/**
 * Recovers a SIGKILLed worker's jobs within ~25 s: the lock runs out ≤ 15 s after the last
 * renewal, and the next stalled check (every 10 s) puts the job back to waiting.
 */
export const defaultQueueLockSettings: QueueLockSettings = {
  lockDurationMs: 15_000,
  stalledIntervalMs: 10_000,
  maxStalledCount: 1,
};

/** A queue's lock settings: its definition's values over `defaultQueueLockSettings`. */
export function queueLockSettings(definition: QueueDefinition): QueueLockSettings {
  return {
    lockDurationMs: definition.lockDurationMs ?? defaultQueueLockSettings.lockDurationMs,
    stalledIntervalMs: definition.stalledIntervalMs ?? defaultQueueLockSettings.stalledIntervalMs,
    maxStalledCount: definition.maxStalledCount ?? defaultQueueLockSettings.maxStalledCount,
    ...(definition.lockRenewMs !== undefined ? { lockRenewMs: definition.lockRenewMs } : {}),
  };
}

/** Problems with a queue definition's lock settings (the worker's env has the same bounds); empty when fine. */
export function lockSettingsProblems(settings: Partial<QueueLockSettings>): string[] {
  const problems: string[] = [];
  const { lockDurationMs, lockRenewMs, stalledIntervalMs, maxStalledCount } = settings;
  if (lockDurationMs !== undefined && !(Number.isInteger(lockDurationMs) && lockDurationMs >= 1_000)) {
    problems.push('lockDurationMs must be an integer ≥ 1000');
  }
  if (stalledIntervalMs !== undefined && !(Number.isInteger(stalledIntervalMs) && stalledIntervalMs >= 100)) {
    problems.push('stalledIntervalMs must be an integer ≥ 100');
  }
  if (maxStalledCount !== undefined && !(Number.isInteger(maxStalledCount) && maxStalledCount >= 0)) {
    problems.push('maxStalledCount must be an integer ≥ 0');
  }
  if (lockRenewMs !== undefined) {
    const lockMs = lockDurationMs ?? defaultQueueLockSettings.lockDurationMs;
    // A lock renewed no sooner than it expires is lost between renewals: every job would stall.
    if (!(Number.isInteger(lockRenewMs) && lockRenewMs >= 100 && lockRenewMs < lockMs)) {
      problems.push(`lockRenewMs must be an integer ≥ 100 and below the lock duration (${lockMs})`);
    }
  }
  return problems;
}

/**
 * Problems with a queue's fleet-wide limits (the worker's env overrides have the same bounds);
 * empty when fine.
 */
export function fleetLimitsProblems(limits: FleetLimits): string[] {
  const problems: string[] = [];
  const { globalConcurrency, rateLimit } = limits;
  const isCount = (value: unknown) => Number.isInteger(value) && (value as number) >= 1;
  if (globalConcurrency !== undefined && !isCount(globalConcurrency)) {
    problems.push('globalConcurrency must be an integer ≥ 1');
  }
  if (rateLimit !== undefined) {
    if (!isCount(rateLimit.max)) problems.push('rateLimit.max must be an integer ≥ 1');
    if (!isCount(rateLimit.durationMs)) problems.push('rateLimit.durationMs must be an integer ≥ 1');
  }
  return problems;
}

/**
 * Deduplication by a key derived from the payload: while a job of the kind with the same key is
 * waiting, delayed or running, another enqueue returns that job instead of adding one
 * (BullMQ's `deduplication` option; the key is stored hashed).
 */
export interface DedupPolicy<Data = never> {
  /** The business identity of a payload, e.g. `(data) => data.reportId`. */
  key(data: Data): string;
  /**
   * How long the key holds after the first enqueue, in ms, even once that job finished.
   * Absent: until the job completes or fails.
   */
  ttlMs?: number;
}

export interface JobKind<
  Name extends string = string,
  Queue extends string = string,
  Schema extends z.ZodType = z.ZodType,
> {
  name: Name;
  queue: Queue;
  schema: Schema;
  description: string;
  policy: JobPolicy;
  /** A valid payload: documentation, OpenAPI example and test fixture in one. */
  example: z.input<Schema>;
  /** One pending job per key; absent: no deduplication beyond job ids and idempotency keys. */
  dedup?: DedupPolicy<z.output<Schema>>;
  /**
   * Payload fields that hold secrets, as dotted paths (`body`, `auth.token`): encrypted before
   * they reach Redis, decrypted only in the worker, masked everywhere they are shown.
   */
  sensitive?: readonly string[];
  /**
   * Payload fields people look jobs up by (`to`, `reportId`), as dotted paths to string or
   * number values: the producer indexes them at enqueue (hashed), so that a search never scans.
   */
  searchKeys?: readonly string[];
}

export type AnyJobKind = JobKind<string, string, z.ZodType>;

type DeepPartialPolicy = Partial<Omit<JobPolicy, 'retention'>> & {
  retention?: Partial<JobPolicy['retention']>;
};

/** Declares one job kind; `name` must start with its queue: `email.send` on `email`. */
export function defineJobKind<
  const Queue extends string,
  const Name extends `${Queue}.${string}`,
  Schema extends z.ZodType,
>(definition: {
  name: Name;
  queue: Queue;
  schema: Schema;
  description: string;
  policy?: DeepPartialPolicy;
  example: z.input<Schema>;
  dedup?: DedupPolicy<z.output<Schema>>;
  sensitive?: readonly string[];
  searchKeys?: readonly string[];
}): JobKind<Name, Queue, Schema> {
  const { policy = {}, ...rest } = definition;
  return {
    ...rest,
    policy: {
      ...defaultJobPolicy,
      ...policy,
      retention: { ...defaultJobPolicy.retention, ...policy.retention },
    },
  };
}

type KindsByName<Kinds extends readonly AnyJobKind[]> = {
  [Kind in Kinds[number] as Kind['name']]: Kind;
};

const KIND_NAME = /^[a-z][a-z0-9-]*\.[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;
const QUEUE_NAME = /^[a-z][a-z0-9-]*$/;

/**
 * Builds the name → kind table and checks what types cannot: names follow `<queue>.<verb>`,
 * every queue is declared, no name twice, policies are in range, examples validate.
 */
export function defineCatalog<
  const Queues extends Record<string, QueueDefinition>,
  const Kinds extends readonly JobKind<string, Extract<keyof Queues, string>, z.ZodType>[],
>(queues: Queues, kinds: Kinds): { queues: Queues; kinds: KindsByName<Kinds> } {
  const table: Record<string, AnyJobKind> = {};
  for (const queue of Object.keys(queues)) {
    if (!QUEUE_NAME.test(queue)) throw new Error(`queue name "${queue}" must match ${QUEUE_NAME}`);
    if (queue.endsWith('-dlq')) throw new Error(`queue name "${queue}" may not end in -dlq (reserved)`);
    const lockProblems = lockSettingsProblems(queues[queue] as QueueDefinition);
    if (lockProblems.length > 0) throw new Error(`queue "${queue}" has bad lock settings: ${lockProblems.join('; ')}`);
    const limitProblems = fleetLimitsProblems(queues[queue] as QueueDefinition);
    if (limitProblems.length > 0) throw new Error(`queue "${queue}" has bad fleet limits: ${limitProblems.join('; ')}`);
  }
  for (const kind of kinds) {
    if (!KIND_NAME.test(kind.name)) throw new Error(`job kind "${kind.name}" must look like <queue>.<verb>`);
    if (!kind.name.startsWith(`${kind.queue}.`)) {
      throw new Error(`job kind "${kind.name}" must start with its queue "${kind.queue}."`);
    }
    if (!(kind.queue in queues)) throw new Error(`job kind "${kind.name}" names undeclared queue "${kind.queue}"`);
    if (kind.name in table) throw new Error(`job kind "${kind.name}" is declared twice`);
    checkPolicy(kind);
    const example = kind.schema.safeParse(kind.example);
    if (!example.success) throw new Error(`job kind "${kind.name}": its example does not validate: ${example.error.message}`);
    for (const field of kind.sensitive ?? []) {
      const problems = payloadPathProblems(field);
      if (problems.length > 0 || !readPath(example.data, field).present) {
        throw new Error(`job kind "${kind.name}": sensitive field ${problems[0] ?? `"${field}" is not in its example`}`);
      }
    }
    for (const field of kind.searchKeys ?? []) {
      const found = readPath(example.data, field);
      if (payloadPathProblems(field).length > 0 || !found.present || !['string', 'number'].includes(typeof found.value)) {
        throw new Error(`job kind "${kind.name}": search key "${field}" is not a string or number field of its example`);
      }
    }
    if (kind.dedup) {
      const key = kind.dedup.key(example.data);
      if (typeof key !== 'string' || key.length === 0) throw new Error(`job kind "${kind.name}": dedup.key gives no key for its example`);
      const { ttlMs } = kind.dedup;
      if (ttlMs !== undefined && !(Number.isInteger(ttlMs) && ttlMs > 0)) throw new Error(`job kind "${kind.name}": dedup.ttlMs must be an integer > 0`);
    }
    table[kind.name] = kind;
  }
  return { queues, kinds: table as KindsByName<Kinds> };
}

function checkPolicy(kind: AnyJobKind): void {
  const { attempts, backoff, timeoutMs, priority } = kind.policy;
  const problems: string[] = [];
  if (!Number.isInteger(attempts) || attempts < 1) problems.push('attempts must be an integer ≥ 1');
  if (backoff.type === 'custom') {
    if (typeof backoff.delayMsFor !== 'function') problems.push('backoff.delayMsFor must be a function');
  } else {
    if (!(backoff.delayMs >= 0)) problems.push('backoff.delayMs must be ≥ 0');
    if (backoff.jitter !== undefined && !(backoff.jitter >= 0 && backoff.jitter <= 1)) problems.push('backoff.jitter must be within 0–1');
  }
  if (!(timeoutMs > 0)) problems.push('timeoutMs must be > 0');
  if (!Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY) problems.push(`priority must be an integer within 0–${MAX_PRIORITY}`);
  if (problems.length > 0) throw new Error(`job kind "${kind.name}" has a bad policy: ${problems.join('; ')}`);
}

/** Per-job overrides a caller may give at enqueue time. */
export interface EnqueueOptions {
  /** Run no sooner than this many ms from now. */
  delayMs?: number;
  /** Overrides the kind's priority (0 = none, 1 = highest). */
  priority?: number;
  /** A stable id: enqueueing the same id twice gives one job. No ":"; not an integer. */
  jobId?: string;
}

/** The BullMQ options of one job of `kind`: the kind's policy under the caller's overrides. */
export function jobOptionsFor(kind: AnyJobKind, overrides: EnqueueOptions = {}): JobsOptions {
  const { policy } = kind;
  const priority = overrides.priority ?? policy.priority;
  return {
    attempts: policy.attempts,
    backoff: backoffOptionsFor(kind),
    removeOnComplete: { count: policy.retention.completed.count, age: policy.retention.completed.ageSec },
    // Failed jobs are kept until dead-lettered (see dead-letter/dead-letter.ts); the DLQ's own
    // retention (DEAD_LETTER_MAX_AGE_DAYS / _MAX_COUNT) bounds them.
    removeOnFail: false,
    ...(priority > 0 ? { priority } : {}),
    ...(overrides.delayMs ? { delay: overrides.delayMs } : {}),
    ...(overrides.jobId !== undefined ? { jobId: overrides.jobId } : {}),
  };
}

/** The BullMQ backoff type of a kind with a custom backoff: `custom:email.send`. */
export const CUSTOM_BACKOFF_PREFIX = 'custom:';

/** BullMQ's `backoff` job option for `kind`: built-in fixed/exponential, or `custom:<kind>`. */
export function backoffOptionsFor(kind: AnyJobKind): BackoffOptions {
  const { backoff } = kind.policy;
  if (backoff.type === 'custom') return { type: `${CUSTOM_BACKOFF_PREFIX}${kind.name}` };
  return { type: backoff.type, delay: backoff.delayMs, ...(backoff.jitter ? { jitter: backoff.jitter } : {}) };
}

/** `defaultJobPolicy`'s backoff, the fallback when a custom one cannot answer. */
function defaultBackoffDelayMs(attemptsMade: number): number {
  const { delayMs, jitter } = defaultJobPolicy.backoff as { delayMs: number; jitter: number };
  const maxMs = Math.round(2 ** (attemptsMade - 1) * delayMs);
  return Math.floor(maxMs * (1 - jitter) + Math.random() * maxMs * jitter);
}

/**
 * BullMQ's worker `settings.backoffStrategy` for catalog kinds: a job whose backoff type is
 * `custom:<kind>` waits what that kind's `delayMsFor(attemptsMade, error)` says (-1: no more
 * tries). A type naming no custom kind (an old job after a catalog change), a function that
 * throws or returns something other than a finite number ≥ 0 or -1, falls back to the
 * default exponential backoff rather than failing the job for good.
 */
export function customBackoffStrategy(
  findKind: (name: string) => AnyJobKind | undefined,
): (attemptsMade: number, type?: string, error?: Error) => number {
  return (attemptsMade, type, error) => {
    const name = type?.startsWith(CUSTOM_BACKOFF_PREFIX) ? type.slice(CUSTOM_BACKOFF_PREFIX.length) : undefined;
    const backoff = name === undefined ? undefined : findKind(name)?.policy.backoff;
    if (backoff?.type !== 'custom') return defaultBackoffDelayMs(attemptsMade);
    try {
      const delayMs = backoff.delayMsFor(attemptsMade, error ?? new Error('unknown error'));
      if (delayMs === -1 || (Number.isFinite(delayMs) && delayMs >= 0)) return delayMs === -1 ? -1 : Math.round(delayMs);
    } catch {
      // A broken function must not wedge the retry: fall through to the default.
    }
    return defaultBackoffDelayMs(attemptsMade);
  };
}
