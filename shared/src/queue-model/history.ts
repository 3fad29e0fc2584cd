/**
 * The per-minute history of a queue (kept QUEUE_MODEL_HISTORY_DAYS, 7 by default), as points
 * of `stepMinutes` minutes each, for charts over 1 hour, 24 hours or 7 days. Histograms merge,
 * so a point of an hour has true percentiles of that hour, not an average of percentiles.
 *
 * Rates come from the counter snapshot (`a`) each minute holds: a point's arrivals are the
 * difference between the snapshot at its start and the one at the next point's start. A
 * minute with no snapshot (nobody — no worker, no dashboard — was running) leaves the rates
 * of the points around it null rather than guessed; its latency samples still count.
 */
import type { Redis } from 'ioredis';
import { emptyCounts, mergeCounts, parseCounts } from './counts.ts';
import { summarize, type LatencySummary } from './histogram.ts';
import { MINUTE_MS, minuteKey, minuteOf } from './keys.ts';

export interface HistoryPoint {
  fromMs: number;
  toMs: number;
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

/**
 * The history of `queue` from `fromMs` to `toMs` (default the last hour), in points of
 * `stepMinutes` (default 1). Reads one hash per minute, in one pipeline.
 */
export async function readQueueHistory(
  redis: Redis,
  options: { prefix: string; queue: string; fromMs?: number; toMs?: number; stepMinutes?: number },
): Promise<HistoryPoint[]> {
  const toMinute = minuteOf(options.toMs ?? Date.now());
  const fromMinute = Math.max(minuteOf(options.fromMs ?? (options.toMs ?? Date.now()) - 3_600_000), toMinute - MAX_HISTORY_MINUTES + 1);
  const step = Math.max(1, Math.trunc(options.stepMinutes ?? 1));
  const pipeline = redis.pipeline();
  // One minute past the end: its snapshot closes the last point's rates.
  for (let m = fromMinute; m <= toMinute + 1; m++) pipeline.hgetall(minuteKey(options.prefix, options.queue, m));
  const results = (await pipeline.exec()) ?? [];
  const minutes = results.map(([error, value]) => {
    if (error) throw error;
    return parseCounts(value as Record<string, string>);
  });

  const points: HistoryPoint[] = [];
  for (let start = 0; start <= toMinute - fromMinute; start += step) {
    const slice = minutes.slice(start, Math.min(start + step, toMinute - fromMinute + 1));
    const sum = emptyCounts();
    for (const m of slice) mergeCounts(sum, m);
    const { wait, service, ok, failed, deadLettered } = sum;
    const open = minutes[start]?.mark;
    const close = minutes[start + slice.length]?.mark;
    const spanSec = open && close ? (close.atMs - open.atMs) / 1_000 : 0;
    const rate = (a: number, b: number) => (spanSec > 0 ? Math.max(0, b - a) / spanSec : null);
    points.push({
      fromMs: (fromMinute + start) * MINUTE_MS,
      toMs: (fromMinute + start + slice.length) * MINUTE_MS,
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
