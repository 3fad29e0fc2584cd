/**
 * Wait and service histograms since the start, per queue, as Prometheus histograms.
 *
 * The queue model's live histograms are per 10-second slot and per minute, and expire; a
 * Prometheus histogram must only grow, so that `rate()` over any range works and a restart of
 * the dashboard changes nothing. So the worker's recorder adds every sample, in the same flush
 * as the slot, to one hash per queue that never expires, `<prefix>:<queue>:qm:hist`
 * (`histogramTotalsKey`, queue-model/keys.ts), with the fields of a slot hash: `w<i>` /
 * `s<i>` counts by log bucket, `wn` / `sn` sample counts, `ws` / `ss` sums in ms. Reading it
 * is one HGETALL per queue, whatever the job count.
 *
 * Prometheus wants a few fixed `le` bounds, the same for every series, not our ~300 fine
 * buckets; `toPrometheusHistogram` folds the fine buckets onto LATENCY_BOUNDS_SEC.
 */
import { sendTogether, type RedisClient } from './redis.ts';
import { parseCounts } from './queue-model/counts.ts';
import { HISTOGRAM_GAMMA, MAX_BUCKET, type Histogram } from './queue-model/histogram.ts';
import { histogramTotalsKey } from './queue-model/keys.ts';

/** The `le` bounds of `conveyor_job_wait_seconds` and `conveyor_job_service_seconds`, in seconds (`+Inf` is implied). */
export const LATENCY_BOUNDS_SEC: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** One queue's wait (first attempts) and service (every attempt) histograms since the start. */
export interface LatencyTotals {
  queue: string;
  wait: Histogram;
  service: Histogram;
}

/** A histogram as Prometheus exposes it: cumulative counts by upper bound (the last one `+Inf`), count and sum. */
export interface PrometheusHistogram {
  buckets: { le: number; count: number }[];
  count: number;
  sumSec: number;
}

/** Reads the since-the-start histograms of `queues`, in their order: one HGETALL each, sent together. */
export async function readLatencyTotals(
  redis: RedisClient,
  options: { prefix: string; queues: readonly string[] },
): Promise<LatencyTotals[]> {
  const hashes = await sendTogether<Record<string, string>>(redis, options.queues.map((queue) => ['hgetall', histogramTotalsKey(options.prefix, queue)]));
  return options.queues.map((queue, at) => {
    const { wait, service } = parseCounts(hashes[at] ?? {});
    return { queue, wait, service };
  });
}

/**
 * Folds a log-bucket histogram onto fixed `le` bounds (seconds), cumulatively.
 *
 * Fine bucket i holds the samples in (γ^(i−1), γ^i] ms (γ = 1.05; bucket 0 everything up to
 * 1 ms, the last bucket everything above ~1 h). It is counted under the smallest bound at or
 * above its upper edge γ^i. So `le="b"` never counts a sample above b; what it may miss are
 * the samples of the one fine bucket that straddles b, those in (b/γ, b]. Put differently,
 * each `_bucket{le="b"}` is the exact count of samples ≤ b′ for some b′ with b/1.05 < b′ ≤ b:
 * every bound is up to 5 % lower than its label says, never higher (an SLO such as "95 %
 * within 1 s" reads slightly pessimistic, never optimistic). `histogram_quantile` then
 * interpolates linearly between bounds that are 2–5× apart, an error far larger than those
 * 5 %; the live windows of /api/queues give percentiles within ±2.5 % (histogram.ts).
 *
 * `+Inf` and `count` are the total of the fine buckets, so the two always agree; `sumSec` is
 * the recorded sum (the recorder rounds it to whole ms per slot).
 */
export function toPrometheusHistogram(histogram: Histogram, boundsSec: readonly number[] = LATENCY_BOUNDS_SEC): PrometheusHistogram {
  const counts = boundsSec.map(() => 0);
  let total = 0;
  for (const [index, n] of histogram.buckets) {
    total += n;
    const upperMs = index >= MAX_BUCKET ? Infinity : index <= 0 ? 1 : HISTOGRAM_GAMMA ** index;
    // A hair of tolerance, so that floating-point error never moves an edge equal to a bound.
    const at = boundsSec.findIndex((boundSec) => upperMs <= boundSec * 1_000 * (1 + 1e-9));
    if (at >= 0) counts[at]! += n;
  }
  let running = 0;
  const buckets = boundsSec.map((le, at) => ({ le, count: (running += counts[at]!) }));
  buckets.push({ le: Infinity, count: total });
  return { buckets, count: total, sumSec: histogram.sumMs / 1_000 };
}
