/**
 * Wedged-worker detection for the health endpoints.
 *
 * A BullMQ worker can stay "running" and connected yet stop taking jobs (a blocking fetch
 * left hanging after a Redis blip: bullmq #4585, #4479, #4378, #648). Nothing fails, the
 * queue just grows. So, per queue, this watch notes the last time this process made
 * progress (a job started or finished) and, at each health check, reads the queue's backlog
 * (jobs waiting or prioritized, bounded in time). The queue is stuck when
 *  - jobs have been waiting at every check for at least `stuckAfterMs`,
 *  - and no job started or finished here in that time,
 *  - while this worker had a free slot (active < concurrency), is not paused locally and
 *    is not closing, and the queue is not paused.
 * "At every check" matters: a job that arrives after an hour of idling is not a wedge, so
 * the clock starts at the first check that sees a backlog, and any check that cannot read
 * the backlog (Redis away), sees none, or finds the worker busy or paused starts it over.
 */
import { withDeadline, type CatalogQueues, type QueueName } from '@conveyor/shared';
import type { Job, Worker } from 'bullmq';

export interface QueueBacklog {
  /** Jobs ready to run now (waiting + prioritized). */
  ready: number;
  /** The queue is paused for every worker. */
  paused: boolean;
}

export interface ProgressWatchDeps {
  workers: ReadonlyMap<QueueName, Worker>;
  concurrency: Partial<Record<QueueName, number>>;
  /** Reads a queue's backlog; the watch bounds it with `backlogTimeoutMs`. */
  backlog: (queue: QueueName) => Promise<QueueBacklog>;
  /** Jobs waiting with no progress for this long make the queue stuck, in ms (WORKER_STUCK_AFTER_MS). */
  stuckAfterMs: number;
  /** Bound on one backlog read, in ms. Default 500. */
  backlogTimeoutMs?: number;
  /** The clock, in ms; for tests. Default Date.now. */
  now?: () => number;
}

export interface QueueProgress {
  /** Jobs ready to run on the queue, or null when the backlog could not be read. */
  ready: number | null;
  /** Jobs this worker runs now on the queue. */
  active: number;
  concurrency: number;
  /** When a job last started or finished here (or the watch began), ISO 8601. */
  lastProgressAt: string;
  /** How long jobs have been waiting with no progress here, in ms; 0 when not counting. */
  stuckForMs: number;
  stuck: boolean;
}

export interface ProgressReport {
  stuck: QueueName[];
  queues: Partial<Record<QueueName, QueueProgress>>;
  stuckAfterMs: number;
}

export interface ProgressWatch {
  check(): Promise<ProgressReport>;
  /** Removes the listeners from the workers. */
  stop(): void;
}

const DEFAULT_BACKLOG_TIMEOUT_MS = 500;

interface QueueState {
  lastProgressMs: number;
  /** Start of the current run of checks that saw a backlog the worker could have taken. */
  backlogSinceMs: number | undefined;
  /** Ids of the jobs running here (BullMQ emits no count per worker). */
  running: Set<string>;
}

export function watchProgress(deps: ProgressWatchDeps): ProgressWatch {
  const now = deps.now ?? Date.now;
  const backlogTimeoutMs = deps.backlogTimeoutMs ?? DEFAULT_BACKLOG_TIMEOUT_MS;
  const states = new Map<QueueName, QueueState>();
  const detach: (() => void)[] = [];

  for (const [queue, worker] of deps.workers) {
    const state: QueueState = { lastProgressMs: now(), backlogSinceMs: undefined, running: new Set() };
    states.set(queue, state);
    const started = (job: Job) => {
      state.lastProgressMs = now();
      if (job.id !== undefined) state.running.add(job.id);
    };
    const finished = (job: Job | undefined) => {
      // A `failed` for a job this worker never ran (the stalled checker) is not progress here.
      if (job?.id === undefined || !state.running.delete(job.id)) return;
      state.lastProgressMs = now();
    };
    worker.on('active', started);
    worker.on('completed', finished);
    worker.on('failed', finished);
    detach.push(() => {
      worker.off('active', started);
      worker.off('completed', finished);
      worker.off('failed', finished);
    });
  }

  const checkQueue = async (queue: QueueName, worker: Worker, state: QueueState): Promise<QueueProgress> => {
    const concurrency = deps.concurrency[queue] ?? 1;
    const backlog = await withDeadline(deps.backlog(queue), backlogTimeoutMs, `the backlog of ${queue}`).catch(() => undefined);
    const at = now();
    const canTakeMore = state.running.size < concurrency && !worker.isPaused() && !worker.closing;
    if (backlog && backlog.ready > 0 && !backlog.paused && canTakeMore) state.backlogSinceMs ??= at;
    else state.backlogSinceMs = undefined;
    const stuckForMs = state.backlogSinceMs === undefined ? 0 : at - Math.max(state.backlogSinceMs, state.lastProgressMs);
    return {
      ready: backlog ? backlog.ready : null,
      active: state.running.size,
      concurrency,
      lastProgressAt: new Date(state.lastProgressMs).toISOString(),
      stuckForMs: Math.max(0, stuckForMs),
      stuck: stuckForMs >= deps.stuckAfterMs,
    };
  };

  return {
    async check() {
      const entries = await Promise.all(
        [...deps.workers].map(async ([queue, worker]) => [queue, await checkQueue(queue, worker, states.get(queue)!)] as const),
      );
      return {
        stuck: entries.filter(([, progress]) => progress.stuck).map(([queue]) => queue),
        queues: Object.fromEntries(entries),
        stuckAfterMs: deps.stuckAfterMs,
      };
    },
    stop() {
      for (const undo of detach.splice(0)) undo();
    },
  };
}

/** Reads backlogs through the catalog queues: waiting + prioritized counts, and the paused flag. */
export function backlogFromQueues(queues: CatalogQueues): (queue: QueueName) => Promise<QueueBacklog> {
  return async (name) => {
    const queue = queues.get(name);
    const [ready, paused] = await Promise.all([queue.getJobCountByTypes('waiting', 'prioritized'), queue.isPaused()]);
    return { ready, paused };
  };
}
