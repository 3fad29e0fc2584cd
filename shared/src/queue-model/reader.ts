/**
 * Reads the queue model: for each queue one snapshot script and one pipeline of a dozen
 * hash reads, so the cost is O(queues) — the same with a thousand or a million jobs waiting.
 *
 *   L   backlog (waiting + prioritized + delayed-and-due) and in service (active), apart
 *   λ   arrival rate: the difference of two counter snapshots over the window (snapshot.ts)
 *   θ   completion rate the same way (BullMQ's own counter), dead-letter rate from the workers
 *   W   wait, ready → start, first attempts only; S service, start → finish of every attempt
 *   ρ   λ·S / (live workers' total concurrency)
 *   drain ETA = backlog / (θ − λ) when θ > λ, otherwise growing at λ − θ jobs/s
 *
 * Windows: "10s" is the current 10-second slot plus the one before it, "1m" the current
 * slot plus the six before it; each figure says the exact span it covers (fromMs, toMs).
 */
import type { RedisClient } from '../redis.ts';
import { emptyCounts, mergeCounts, parseCounts, type BucketCounts } from './counts.ts';
import { summarize, type LatencySummary } from './histogram.ts';
import { SLOT_MS, slotKey, slotOf, totalsKey, workersKey } from './keys.ts';
import { DEFAULT_HISTORY_TTL_SEC, WORKER_LIVE_MS } from './recorder.ts';
import { snapshotQueue, type CounterMark, type QueueSnapshot } from './snapshot.ts';

export type WindowName = '10s' | '1m';
const WINDOW_SLOTS: Record<WindowName, number> = { '10s': 1, '1m': 6 };

export interface WindowFigures {
  /** The span the counts cover. */
  fromMs: number;
  toMs: number;
  /** λ, jobs/s; null until two counter snapshots span the window. */
  arrivalRate: number | null;
  /** θ of completions, jobs/s (same span as λ). */
  completionRate: number | null;
  /** The span λ and θ were measured over. */
  ratesFromMs: number | null;
  /** θ of dead-lettering, jobs/s. */
  deadLetterRate: number;
  wait: LatencySummary;
  service: LatencySummary;
  /** Failed attempts / attempts; null without attempts. */
  failureRate: number | null;
  /** Retries (failed attempts that were retried) per job finished. */
  retriesPerJob: number | null;
}

export interface QueueFigures {
  queue: string;
  atMs: number;
  backlog: { total: number; waiting: number; prioritized: number; delayedDue: number };
  inService: number;
  /** Delayed jobs not yet due. */
  delayedLater: number;
  paused: number;
  /** Age of the oldest job ready to run, ms; null when none waits. */
  oldestWaitingAgeMs: number | null;
  totals: { arrived: number; completed: number; failedFinal: number; failedAttempts: number; deadLettered: number };
  windows: Record<WindowName, WindowFigures>;
  workers: { live: number; concurrency: number };
  /** ρ over the 1-minute window; null without live workers or samples. */
  utilization: number | null;
  drain:
    | { state: 'empty' }
    | { state: 'draining'; etaSec: number }
    | { state: 'growing'; growthPerSec: number }
    | { state: 'unknown' };
}

function windowFigures(slots: BucketCounts[], firstSlot: number, snapshot: QueueSnapshot): WindowFigures {
  const sum = emptyCounts();
  for (const slot of slots) mergeCounts(sum, slot);
  const { wait, service, ok, failed, deadLettered } = sum;
  const fromMs = firstSlot * SLOT_MS;
  const toMs = snapshot.atMs;
  // The earliest counter snapshot in the window, against the one just taken.
  const mark = slots.map((s) => s.mark).find((m): m is CounterMark => m !== undefined && m.atMs < snapshot.atMs);
  const spanSec = mark ? (snapshot.atMs - mark.atMs) / 1_000 : 0;
  const rate = (now: number, then: number) => (spanSec > 0 ? Math.max(0, now - then) / spanSec : null);
  const attempts = ok + failed;
  const finished = ok + deadLettered;
  return {
    fromMs,
    toMs,
    arrivalRate: mark ? rate(snapshot.arrivals, mark.arrivals) : null,
    completionRate: mark ? rate(snapshot.completedTotal, mark.completed) : null,
    ratesFromMs: mark?.atMs ?? null,
    deadLetterRate: deadLettered / Math.max(0.001, (toMs - fromMs) / 1_000),
    wait: summarize(wait),
    service: summarize(service),
    failureRate: attempts > 0 ? failed / attempts : null,
    retriesPerJob: finished > 0 ? Math.max(0, failed - deadLettered) / finished : null,
  };
}

/** The figures of `queues`, read at `nowMs` (default now). */
export async function readQueueModel(
  redis: RedisClient,
  options: { prefix: string; queues: readonly string[]; nowMs?: number; historyTtlSec?: number },
): Promise<QueueFigures[]> {
  return Promise.all(options.queues.map((queue) => readQueue(redis, queue, options)));
}

async function readQueue(
  redis: RedisClient,
  queue: string,
  options: { prefix: string; nowMs?: number; historyTtlSec?: number },
): Promise<QueueFigures> {
  const nowMs = options.nowMs ?? Date.now();
  const current = slotOf(nowMs);
  const first = current - WINDOW_SLOTS['1m'];
  const pipeline = redis.pipeline();
  for (let slot = first; slot <= current; slot++) pipeline.hgetall(slotKey(options.prefix, queue, slot));
  pipeline.hgetall(workersKey(options.prefix, queue));
  pipeline.hgetall(totalsKey(options.prefix, queue));
  // Slots first: the snapshot taken after them is never older than their marks.
  const results = (await pipeline.exec()) ?? [];
  const snapshot = await snapshotQueue(redis, {
    prefix: options.prefix,
    queue,
    nowMs,
    historyTtlSec: options.historyTtlSec ?? DEFAULT_HISTORY_TTL_SEC,
  });
  const hashes = results.map(([error, value]) => {
    if (error) throw error;
    return value as Record<string, string>;
  });
  const slots = hashes.slice(0, current - first + 1).map(parseCounts);
  const workersHash = hashes[current - first + 1] ?? {};
  const totalsHash = hashes[current - first + 2] ?? {};

  const windows = {} as Record<WindowName, WindowFigures>;
  for (const name of Object.keys(WINDOW_SLOTS) as WindowName[]) {
    const firstSlot = current - WINDOW_SLOTS[name];
    windows[name] = windowFigures(slots.slice(firstSlot - first), firstSlot, snapshot);
  }

  let live = 0;
  let concurrency = 0;
  const stale: string[] = [];
  for (const [worker, value] of Object.entries(workersHash)) {
    const [slotsText = '0', beatText = '0'] = value.split(':');
    if (nowMs - Number(beatText) <= WORKER_LIVE_MS) {
      live++;
      concurrency += Number(slotsText) || 0;
    } else {
      stale.push(worker);
    }
  }
  if (stale.length > 0) await redis.hdel(workersKey(options.prefix, queue), ...stale).catch(() => {});

  const backlogTotal = snapshot.waiting + snapshot.prioritized + snapshot.delayedDue;
  const minute = windows['1m'];
  const serviceSec = minute.service.meanMs === null ? null : minute.service.meanMs / 1_000;
  const utilization =
    concurrency > 0 && minute.arrivalRate !== null && serviceSec !== null ? (minute.arrivalRate * serviceSec) / concurrency : null;

  return {
    queue,
    atMs: nowMs,
    backlog: { total: backlogTotal, waiting: snapshot.waiting, prioritized: snapshot.prioritized, delayedDue: snapshot.delayedDue },
    inService: snapshot.active,
    delayedLater: snapshot.delayed - snapshot.delayedDue,
    paused: snapshot.paused,
    oldestWaitingAgeMs: snapshot.oldestReadyAtMs === null ? null : Math.max(0, nowMs - snapshot.oldestReadyAtMs),
    totals: {
      arrived: snapshot.arrivals,
      completed: snapshot.completedTotal,
      failedFinal: snapshot.failedTotal,
      failedAttempts: Number(totalsHash.fa ?? 0),
      deadLettered: Number(totalsHash.dl ?? 0),
    },
    windows,
    workers: { live, concurrency },
    utilization,
    drain: drainOf(backlogTotal, minute),
  };
}

function drainOf(backlog: number, window: WindowFigures): QueueFigures['drain'] {
  if (backlog === 0) return { state: 'empty' };
  if (window.arrivalRate === null || window.completionRate === null) return { state: 'unknown' };
  const net = window.completionRate + window.deadLetterRate - window.arrivalRate;
  if (net > 0) return { state: 'draining', etaSec: backlog / net };
  return { state: 'growing', growthPerSec: -net };
}
