/**
 * Latency histograms with logarithmic buckets (the DDSketch layout): bucket i holds samples
 * in (γ^(i−1), γ^i] ms, with γ = 1.05. Histograms merge by adding counts, so the 10-second
 * and per-minute buckets written by any number of workers add up to any window, and a
 * percentile never needs the samples themselves. A percentile is answered as its bucket's
 * representative value 2γ^i/(γ+1), within ±2.5 % of the true sample; the mean is exact
 * (the sum is kept). Only non-empty buckets are stored: a window where latencies cluster
 * uses a few dozen fields whatever its job count.
 */

export const HISTOGRAM_GAMMA = 1.05;
const LOG_GAMMA = Math.log(HISTOGRAM_GAMMA);
/** Samples of 1 ms or less share bucket 0; above ~1 hour, the last bucket. */
export const MAX_BUCKET = Math.ceil(Math.log(3_600_000) / LOG_GAMMA);

/** The bucket of a sample of `ms` milliseconds. */
export function bucketIndex(ms: number): number {
  if (!(ms > 1)) return 0;
  return Math.min(MAX_BUCKET, Math.ceil(Math.log(ms) / LOG_GAMMA - 1e-9));
}

/** The value a bucket stands for: within ±(γ−1)/(γ+1) of every sample in it. */
export function bucketValue(index: number): number {
  if (index <= 0) return 1;
  return (2 * HISTOGRAM_GAMMA ** index) / (HISTOGRAM_GAMMA + 1);
}

/** Counts by bucket index (sparse), the sample count and their sum. */
export interface Histogram {
  buckets: Map<number, number>;
  count: number;
  sumMs: number;
}

export function emptyHistogram(): Histogram {
  return { buckets: new Map(), count: 0, sumMs: 0 };
}

export function addSample(histogram: Histogram, ms: number): void {
  addToBucket(histogram, bucketIndex(ms), 1);
  histogram.count += 1;
  histogram.sumMs += Math.max(0, ms);
}

export function addToBucket(histogram: Histogram, index: number, count: number): void {
  histogram.buckets.set(index, (histogram.buckets.get(index) ?? 0) + count);
}

export function mergeInto(target: Histogram, source: Histogram): void {
  for (const [index, n] of source.buckets) addToBucket(target, index, n);
  target.count += source.count;
  target.sumMs += source.sumMs;
}

/** The p-th percentile (0–100) in ms; undefined when empty. */
export function percentileOf(histogram: Histogram, p: number): number | undefined {
  const total = [...histogram.buckets.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const index of [...histogram.buckets.keys()].sort((a, b) => a - b)) {
    seen += histogram.buckets.get(index)!;
    if (seen >= rank) return bucketValue(index);
  }
  return bucketValue(MAX_BUCKET);
}

export function meanOf(histogram: Histogram): number | undefined {
  return histogram.count === 0 ? undefined : histogram.sumMs / histogram.count;
}

/** Summary figures of a histogram, in ms (null when there were no samples). */
export interface LatencySummary {
  count: number;
  meanMs: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

export function summarize(histogram: Histogram): LatencySummary {
  const at = (p: number) => percentileOf(histogram, p) ?? null;
  return { count: histogram.count, meanMs: meanOf(histogram) ?? null, p50Ms: at(50), p95Ms: at(95), p99Ms: at(99) };
}
