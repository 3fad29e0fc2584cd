/**
 * The small typed API the catalog is written in: queues, job kinds and their policy.
 *
 * A job kind is a name `<queue>.<verb>`, the queue it runs on, a zod schema for its payload
 * and a policy. Types flow from the schema: the producer's `enqueue('email.send', data)` and
 * the worker's handler for `email.send` are both checked against it.
 */
import type { JobsOptions } from 'bullmq';
import type { z } from 'zod';

export interface BackoffPolicy {
  /** `fixed`: the same delay every time; `exponential`: delayMs · 2^(attempt-1). */
  type: 'fixed' | 'exponential';
  /** Base delay between attempts, in ms. */
  delayMs: number;
  /** Random spread as a fraction of the delay, 0–1 (0.2 = up to 20 % shorter). Default 0. */
  jitter?: number;
}

export interface RetentionPolicy {
  /** Keep at most this many jobs of the state… */
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
  /** How many finished jobs Redis keeps. Default completed 1 day / 10,000, failed 7 days / 50,000. */
  retention: { completed: RetentionPolicy; failed: RetentionPolicy };
}

export const defaultJobPolicy: JobPolicy = {
  attempts: 3,
  backoff: { type: 'exponential', delayMs: 1_000, jitter: 0.2 },
  timeoutMs: 30_000,
  priority: 0,
  retention: {
    completed: { count: 10_000, ageSec: 24 * 3600 },
    failed: { count: 50_000, ageSec: 7 * 24 * 3600 },
  },
};

/** BullMQ's bounds on priority. */
export const MAX_PRIORITY = 2_097_151;

export interface QueueDefinition {
  /** One line for people: what runs on this queue. */
  description: string;
  /** Jobs one worker process runs at once on this queue. Default: WORKER_CONCURRENCY. */
  concurrency?: number;
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
    table[kind.name] = kind;
  }
  return { queues, kinds: table as KindsByName<Kinds> };
}

function checkPolicy(kind: AnyJobKind): void {
  const { attempts, backoff, timeoutMs, priority } = kind.policy;
  const problems: string[] = [];
  if (!Number.isInteger(attempts) || attempts < 1) problems.push('attempts must be an integer ≥ 1');
  if (!(backoff.delayMs >= 0)) problems.push('backoff.delayMs must be ≥ 0');
  if (backoff.jitter !== undefined && !(backoff.jitter >= 0 && backoff.jitter <= 1)) problems.push('backoff.jitter must be within 0–1');
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
    backoff: {
      type: policy.backoff.type,
      delay: policy.backoff.delayMs,
      ...(policy.backoff.jitter ? { jitter: policy.backoff.jitter } : {}),
    },
    removeOnComplete: { count: policy.retention.completed.count, age: policy.retention.completed.ageSec },
    removeOnFail: { count: policy.retention.failed.count, age: policy.retention.failed.ageSec },
    ...(priority > 0 ? { priority } : {}),
    ...(overrides.delayMs ? { delay: overrides.delayMs } : {}),
    ...(overrides.jobId !== undefined ? { jobId: overrides.jobId } : {}),
  };
}
