/**
 * The per-minute history of a queue (kept QUEUE_MODEL_HISTORY_DAYS, 7 by default), as points
 * of `stepMinutes` minutes each, for charts over 1 hour, 24 hours or 7 days. Histograms merge,
 * so a point of an hour has true percentiles of that hour, not an average of percentiles.
 *
 * Rates come from the counter snapshot (`a`) each minute holds: a point's arrivals are the
 * difference between the snapshot at its start and the one at the next point's start. A
 * minute with no snapshot (nobody — no worker, no dashboard — was running) leaves the rates
 * of the points around it null rather than guessed; its latency samples still count.
 *
 * The step in progress (the one holding the current minute) has no next snapshot yet: the read
 * takes one (snapshot.ts) and closes that point with it, so its rates are over the seconds
 * elapsed since its first snapshot, its counts and latencies so far. It says so: `partial` is
 * true and `toMs` is the time of that closing snapshot. Under MIN_PARTIAL_SPAN_MS of elapsed
 * time its rates stay null rather than swing on a second's worth of jobs.
 */
import type { RedisClient } from '../redis.ts';
import { emptyCounts, mergeCounts, parseCounts } from './counts.ts';
import { summarize, type LatencySummary } from './histogram.ts';
import { MINUTE_MS, minuteKey, minuteOf } from './keys.ts';
import { DEFAULT_HISTORY_TTL_SEC } from './recorder.ts';
import { snapshotQueue, type CounterMark } from './snapshot.ts';

export interface HistoryPoint {
  fromMs: number;
  /** The end of the point; for the partial point, the time of the snapshot that closes it. */
  toMs: number;
  /** True for the step in progress: rates over its elapsed seconds, counts so far. */
  partial: boolean;
  /** λ and θ over the point, jobs/s; null where a snapshot is missing at either end. */
  arrivalRate: number | null;
  completionRate: number | null;
  /** Jobs in the queue (waiting, delayed, active…) at the point's first snapshot. */
  inQueue: number | null;
  completedAttempts: number;
  failedAttempts: number;
  deadLettered: number;
  failureRate: number | null;
  wait: LatencySummary;
  service: LatencySummary;
}

/** At most this many minute hashes are read in one call (7 days). */
export const MAX_HISTORY_MINUTES = 7 * 24 * 60;

/** The partial point's rates need at least this much time between its snapshots, in ms. */
export const MIN_PARTIAL_SPAN_MS = 5_000;

export interface HistoryReadOptions {
  prefix: string;
  queue: string;
  /** Start of the history, epoch ms. Default an hour before `toMs`. */
  fromMs?: number;
  /** End of the history, epoch ms. Default `nowMs`. */
  toMs?: number;
  /** Minutes per point. Default 1. */
  stepMinutes?: number;
  /** The current time, epoch ms: the minute holding it is in progress. Default Date.now(). */
  nowMs?: number;
  /** TTL of the counter snapshot the read takes when the range reaches the current minute, in s. Default 7 days. */
  historyTtlSec?: number;
}

/**
 * The history of `queue` from `fromMs` to `toMs` (default the last hour), in points of
 * `stepMinutes` (default 1). Reads one hash per minute, in one pipeline, and takes a counter
 * snapshot when the range reaches the current minute (the partial point's closing mark).
 */
export async function readQueueHistory(redis: RedisClient, options: HistoryReadOptions): Promise<HistoryPoint[]> {
  const nowMs = options.nowMs ?? Date.now();
  const toMinute = minuteOf(options.toMs ?? nowMs);
  const fromMinute = Math.max(minuteOf(options.fromMs ?? (options.toMs ?? nowMs) - 3_600_000), toMinute - MAX_HISTORY_MINUTES + 1);
  const step = Math.max(1, Math.trunc(options.stepMinutes ?? 1));
  const currentMinute = minuteOf(nowMs);
  const pipeline = redis.pipeline();
  // One minute past the end: its snapshot closes the last point's rates.
  for (let m = fromMinute; m <= toMinute + 1; m++) pipeline.hgetall(minuteKey(options.prefix, options.queue, m));
  const results = (await pipeline.exec()) ?? [];
  const minutes = results.map(([error, value]) => {
    if (error) throw error;
    return parseCounts(value as Record<string, string>);
  });
  // Taken after the reads, so it is never older than the marks they returned.
  let closing: CounterMark | undefined;
  if (fromMinute <= currentMinute && currentMinute <= toMinute) {
    const snapshot = await snapshotQueue(redis, {
      prefix: options.prefix,
      queue: options.queue,
      nowMs,
      historyTtlSec: options.historyTtlSec ?? DEFAULT_HISTORY_TTL_SEC,
    });
    closing = { arrivals: snapshot.arrivals, completed: snapshot.completedTotal, failed: snapshot.failedTotal, atMs: snapshot.atMs };
  }

  const points: HistoryPoint[] = [];
  for (let start = 0; start <= toMinute - fromMinute; start += step) {
    const slice = minutes.slice(start, Math.min(start + step, toMinute - fromMinute + 1));
    const sum = emptyCounts();
    for (const m of slice) mergeCounts(sum, m);
    const { wait, service, ok, failed, deadLettered } = sum;
    const firstMinute = fromMinute + start;
    const partial = closing !== undefined && firstMinute <= currentMinute && currentMinute < firstMinute + step;
    const open = minutes[start]?.mark;
    const close = partial ? closing : minutes[start + slice.length]?.mark;
    const spanMs = open && close ? close.atMs - open.atMs : 0;
    const spanSec = spanMs >= (partial ? MIN_PARTIAL_SPAN_MS : 1) ? spanMs / 1_000 : 0;
    const rate = (a: number, b: number) => (spanSec > 0 ? Math.max(0, b - a) / spanSec : null);
    points.push({
      fromMs: firstMinute * MINUTE_MS,
      toMs: partial ? nowMs : (firstMinute + slice.length) * MINUTE_MS,
      partial,
      arrivalRate: open && close ? rate(open.arrivals, close.arrivals) : null,
      completionRate: open && close ? rate(open.completed, close.completed) : null,
      inQueue: open ? open.arrivals - open.completed - open.failed : null,
      completedAttempts: ok,
      failedAttempts: failed,
      deadLettered,
      failureRate: ok + failed > 0 ? failed / (ok + failed) : null,
      wait: summarize(wait),
      service: summarize(service),
    });
  }
  return points;
}
