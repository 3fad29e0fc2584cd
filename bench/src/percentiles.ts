/** Percentiles of a sample, by sorting it: the bench's samples are few enough (≤ a few 100,000). */

/** The nearest-rank `q`-quantile (0–1) of ascending `sorted`; NaN when empty. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** `0.84 ms`, `1.2 s`, or `not started` for a job that never started. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'not started';
  return ms >= 1_000 ? `${(ms / 1_000).toFixed(2)} s` : `${ms.toFixed(2)} ms`;
}
