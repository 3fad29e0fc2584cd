/**
 * The overview's figures: per catalog queue, its job counts by state and whether it is paused.
 * Costs O(queues) Redis calls, never O(jobs): two `getJobCounts` (a single Lua script each; one
 * for the queue, one for its dead-letter queue) and one `isPaused` per queue, all in parallel,
 * under one deadline.
 */
import { catalog, type CatalogQueues, type QueueName } from '@conveyor/shared';
import type { JobType, Queue } from 'bullmq';
import type { RedisClient } from '@conveyor/shared';
import { callRedis } from './redis-call.ts';

/** Job counts of one queue by state. `paused` is BullMQ's legacy paused list; a paused queue keeps its jobs in `waiting`. */
export interface QueueCounts {
  waiting: number;
  prioritized: number;
  delayed: number;
  active: number;
  completed: number;
  failed: number;
  paused: number;
  waitingChildren: number;
  /** Records in the queue's dead-letter queue (`<name>-dlq`): jobs that failed for good. */
  deadLettered: number;
}

export interface QueueSummary {
  name: string;
  description: string;
  paused: boolean;
  counts: QueueCounts;
}

/**
 * The BullMQ job types read, in one `getJobCounts` call. BullMQ 6 keeps a paused queue's jobs
 * in `waiting` and no longer types `paused`, but its count script still reads the legacy paused
 * list, where jobs from older BullMQ clients may sit; so it is asked for too.
 */
const bullTypes = [
  'waiting',
  'prioritized',
  'delayed',
  'active',
  'completed',
  'failed',
  'paused',
  'waiting-children',
] as const;

export interface QueueOverviewDeps {
  queues: CatalogQueues;
  /** The connection the queues share; checked for readiness before reading. */
  redis: RedisClient;
  /** Longest wait for the whole read, in ms. */
  timeoutMs: number;
}

/** Reads every queue's summary; throws RedisUnavailableError when Redis is away or slow. */
export function readQueueOverview(deps: QueueOverviewDeps): Promise<QueueSummary[]> {
  return callRedis({ redis: deps.redis, timeoutMs: deps.timeoutMs, label: 'queue counts' }, () =>
    Promise.all(deps.queues.all().map((queue) => summarize(queue, deps.queues.deadLetterQueue(queue.name as QueueName)))),
  );
}

/** What the overview knows of a queue without Redis: its name and description. */
export function describeQueue(name: string): string {
  return Object.hasOwn(catalog.queues, name) ? catalog.queues[name as keyof typeof catalog.queues].description : '';
}

async function summarize(queue: Queue, deadLetterQueue: Queue): Promise<QueueSummary> {
  const [raw, paused, deadLetters] = await Promise.all([
    queue.getJobCounts(...(bullTypes as readonly string[] as JobType[])),
    queue.isPaused(),
    // Records wait in the (paused) dead-letter queue; the legacy paused list is counted for old clients.
    deadLetterQueue.getJobCounts('waiting', 'paused' as JobType),
  ]);
  const count = (type: (typeof bullTypes)[number]) => raw[type] ?? 0;
  return {
    name: queue.name,
    description: describeQueue(queue.name),
    paused,
    counts: {
      waiting: count('waiting'),
      prioritized: count('prioritized'),
      delayed: count('delayed'),
      active: count('active'),
      completed: count('completed'),
      failed: count('failed'),
      paused: count('paused'),
      waitingChildren: count('waiting-children'),
      deadLettered: (deadLetters.waiting ?? 0) + (deadLetters.paused ?? 0),
    },
  };
}
