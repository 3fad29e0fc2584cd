/**
 * The worker's side of the queue model: it measures each attempt in memory (no Redis call
 * on the job's path) and adds the counts to Redis once a second, one transaction for all its
 * queues. Its completed and dead-lettered totals are also the departures the arrival count
 * rests on (snapshot.ts). A SIGKILLed worker loses at most its last second of counts —
 * never a job — which lowers the arrival count by the jobs it finished in that second.
 *
 * Every ten seconds it also heartbeats its queues (live workers and their concurrency, for
 * ρ) and takes a snapshot of each, so the arrival history has a point per slot and minute
 * even when no dashboard is open. The same pipeline writes the process's own record (its
 * queues, jobs in hand, start and heartbeat times; workers.ts) for the dashboard's Workers page.
 */
import { hostname } from 'node:os';
import type { RedisClient } from '../redis.ts';
import { emptyCounts, mergeCounts, type BucketCounts } from './counts.ts';
import { addSample } from './histogram.ts';
import { histogramTotalsKey, LIVE_TTL_SEC, minuteKey, minuteOf, SLOT_MS, slotKey, slotOf, totalsKey, workerProcessKey, workersKey } from './keys.ts';
import { snapshotQueue } from './snapshot.ts';
import type { WorkerProcessRecord } from './workers.ts';

/** The per-minute history is kept this long by default: 7 days. */
export const DEFAULT_HISTORY_TTL_SEC = 7 * 24 * 3_600;
/** A worker that has not heartbeated for this long no longer counts as live. */
export const WORKER_LIVE_MS = 30_000;
/** A process's own heartbeat record expires this long after its last beat: a bit over WORKER_LIVE_MS. */
export const WORKER_PROCESS_TTL_SEC = 45;

export interface AttemptTiming {
  /** When the job became ready: enqueue time plus its delay. Absent: not a first attempt (no wait sample). */
  readyAtMs?: number;
  startedAtMs: number;
  finishedAtMs: number;
  ok: boolean;
}

export interface QueueModelRecorder {
  /** Records one finished attempt (completed or failed). */
  attempt(queue: string, timing: AttemptTiming): void;
  /** Records `count` (default 1) jobs dead-lettered from `queue`. */
  deadLettered(queue: string, count?: number): void;
  /** Writes what is buffered now. */
  flush(): Promise<void>;
  /** Stops the timers, writes what is left and removes this worker's heartbeat. */
  close(): Promise<void>;
}

type Tally = BucketCounts;

/** The fields of a tally that also go into the since-the-start histogram totals (keys.ts). */
const HISTOGRAM_FIELD = /^[ws](\d+|n|s)$/;

/** The hash fields a tally adds (see keys.ts for their meaning). */
export function tallyFields(tally: Tally): [string, number][] {
  const fields: [string, number][] = [];
  for (const [index, n] of tally.wait.buckets) fields.push([`w${index}`, n]);
  for (const [index, n] of tally.service.buckets) fields.push([`s${index}`, n]);
  if (tally.wait.count > 0) fields.push(['wn', tally.wait.count], ['ws', Math.round(tally.wait.sumMs)]);
  if (tally.service.count > 0) fields.push(['sn', tally.service.count], ['ss', Math.round(tally.service.sumMs)]);
  if (tally.ok > 0) fields.push(['ok', tally.ok]);
  if (tally.failed > 0) fields.push(['fa', tally.failed]);
  if (tally.deadLettered > 0) fields.push(['dl', tally.deadLettered]);
  return fields;
}

export function createQueueModelRecorder(deps: {
  /** A connection the recorder may use (it does not close it). */
  redis: RedisClient;
  prefix: string;
  /** The queues this process works, with its concurrency on each (for ρ). */
  concurrency: Record<string, number>;
  flushMs?: number;
  heartbeatMs?: number;
  historyTtlSec?: number;
  /** `host:pid` by default. */
  identity?: string;
  /** Jobs in hand per queue now, for the process's heartbeat record; without it they show as unknown (null). */
  activeJobs?: () => Readonly<Record<string, number>>;
  /** When the process started, epoch ms. Default `performance.timeOrigin`. */
  startedAtMs?: number;
  onError?: (error: Error) => void;
  /** The clock of heartbeats, snapshots and dead-letterings (tests). Default Date.now. */
  now?: () => number;
}): QueueModelRecorder {
  const now = deps.now ?? Date.now;
  const flushMs = deps.flushMs ?? 1_000;
  const heartbeatMs = deps.heartbeatMs ?? 10_000;
  const historyTtlSec = deps.historyTtlSec ?? DEFAULT_HISTORY_TTL_SEC;
  const identity = deps.identity ?? `${hostname()}:${process.pid}`;
  const startedAtMs = Math.round(deps.startedAtMs ?? performance.timeOrigin);
  const queues = Object.keys(deps.concurrency);
  // queue → slot → tally. Samples belong to the slot they were taken in, even if written later.
  let pending = new Map<string, Map<number, Tally>>();
  let closed = false;

  const tallyFor = (queue: string, atMs: number): Tally => {
    let slots = pending.get(queue);
    if (!slots) pending.set(queue, (slots = new Map()));
    const slot = slotOf(atMs);
    let tally = slots.get(slot);
    if (!tally) slots.set(slot, (tally = emptyCounts()));
    return tally;
  };

  let flushing: Promise<void> | undefined;
  const flush = async (): Promise<void> => {
    if (flushing) return flushing;
    const batch = pending;
    if (batch.size === 0) return;
    pending = new Map();
    // One transaction per queue (a queue's keys share a hash slot, so this also holds on a
    // Cluster): a queue's batch is added whole or not at all, so a retried batch never counts
    // twice (short of the connection dying between EXEC and its reply).
    flushing = Promise.all([...batch].map(([queue, slots]) => flushQueue(queue, slots)))
      .then(() => {})
      .finally(() => (flushing = undefined));
    return flushing;
  };

  const flushQueue = (queue: string, slots: Map<number, Tally>): Promise<void> => {
    const pipeline = deps.redis.multi();
    for (const [slot, tally] of slots) {
      const fields = tallyFields(tally);
      if (fields.length === 0) continue;
      const slotHash = slotKey(deps.prefix, queue, slot);
      const minuteHash = minuteKey(deps.prefix, queue, minuteOf(slot * SLOT_MS));
      const histogramTotals = histogramTotalsKey(deps.prefix, queue);
      for (const [field, n] of fields) {
        pipeline.hincrby(slotHash, field, n);
        pipeline.hincrby(minuteHash, field, n);
        if (HISTOGRAM_FIELD.test(field)) pipeline.hincrby(histogramTotals, field, n);
      }
      pipeline.expire(slotHash, LIVE_TTL_SEC);
      pipeline.expire(minuteHash, historyTtlSec);
      const totals = totalsKey(deps.prefix, queue);
      if (tally.ok > 0) pipeline.hincrby(totals, 'ok', tally.ok);
      if (tally.failed > 0) pipeline.hincrby(totals, 'fa', tally.failed);
      if (tally.deadLettered > 0) pipeline.hincrby(totals, 'dl', tally.deadLettered);
    }
    return pipeline.exec().then(
      (results) => {
        // EXEC ran: what a single command refused is lost, but never added twice.
        const refused = results?.find(([error]) => error)?.[0];
        if (refused) deps.onError?.(refused);
      },
      (error: Error) => {
        // Redis away: nothing was added; keep the counts for the next flush (bounded: only the
        // live window matters).
        requeue(new Map([[queue, slots]]));
        deps.onError?.(error);
      },
    );
  };

  const requeue = (batch: Map<string, Map<number, Tally>>) => {
    const oldest = slotOf(now()) - Math.ceil((LIVE_TTL_SEC * 1_000) / SLOT_MS);
    for (const [queue, slots] of batch) {
      for (const [slot, tally] of slots) {
        if (slot < oldest) continue;
        mergeCounts(tallyFor(queue, slot * SLOT_MS), tally);
      }
    }
  };

  const heartbeat = async () => {
    const beatMs = now();
    // One pipeline per queue and one for the process record: on a Cluster they live on
    // different shards, and a pipeline must stay on one.
    const writes: Promise<unknown>[] = queues.map((queue) =>
      deps.redis
        .pipeline()
        .hset(workersKey(deps.prefix, queue), identity, `${deps.concurrency[queue]}:${beatMs}`)
        .expire(workersKey(deps.prefix, queue), Math.ceil(WORKER_LIVE_MS / 1_000) * 10)
        .exec()
        .then(throwFirstError),
    );
    const active = deps.activeJobs?.();
    const record: WorkerProcessRecord = {
      id: identity,
      host: hostname(),
      pid: process.pid,
      queues: queues.map((queue) => ({ queue, concurrency: deps.concurrency[queue] ?? 0, active: active ? (active[queue] ?? 0) : null })),
      startedAtMs,
      beatAtMs: beatMs,
    };
    if (queues.length > 0) writes.push(deps.redis.set(workerProcessKey(deps.prefix, identity), JSON.stringify(record), 'EX', WORKER_PROCESS_TTL_SEC));
    await Promise.all(writes);
    await Promise.all(queues.map((queue) => snapshotQueue(deps.redis, { prefix: deps.prefix, queue, nowMs: beatMs, historyTtlSec })));
  };
  const beat = () =>
    heartbeat().catch((error: Error) => deps.onError?.(error));

  const flushTimer = setInterval(() => void flush(), flushMs);
  const heartbeatTimer = setInterval(beat, heartbeatMs);
  flushTimer.unref();
  heartbeatTimer.unref();
  void beat();

  return {
    attempt(queue, timing) {
      if (closed) return;
      const tally = tallyFor(queue, timing.finishedAtMs);
      if (timing.readyAtMs !== undefined) addSample(tally.wait, timing.startedAtMs - timing.readyAtMs);
      addSample(tally.service, timing.finishedAtMs - timing.startedAtMs);
      if (timing.ok) tally.ok++;
      else tally.failed++;
    },
    deadLettered(queue, count = 1) {
      if (closed || count <= 0) return;
      tallyFor(queue, now()).deadLettered += count;
    },
    flush,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(flushTimer);
      clearInterval(heartbeatTimer);
      await flushing;
      await flush();
      await Promise.all([
        ...queues.map((queue) => deps.redis.hdel(workersKey(deps.prefix, queue), identity)),
        deps.redis.del(workerProcessKey(deps.prefix, identity)),
      ]).catch(() => {});
    },
  };
}

/** Rejects with the first error in a pipeline's results (ioredis resolves them in the array). */
function throwFirstError(results: [Error | null, unknown][] | null): void {
  const error = results?.find(([failure]) => failure)?.[0];
  if (error) throw error;
}
