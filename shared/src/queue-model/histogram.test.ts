import { describe, expect, it } from 'vitest';
import { addSample, bucketIndex, bucketValue, emptyHistogram, HISTOGRAM_GAMMA, mergeInto, percentileOf, summarize } from './histogram.ts';

describe('latency histogram', () => {
  it('answers every sample within ±2.5 % through its bucket', () => {
    const bound = (HISTOGRAM_GAMMA - 1) / (HISTOGRAM_GAMMA + 1);
    for (const ms of [1.5, 3, 17, 99, 100, 101, 1_234, 59_999, 600_000]) {
      const value = bucketValue(bucketIndex(ms));
      expect(Math.abs(value - ms) / ms).toBeLessThanOrEqual(bound + 1e-9);
    }
    expect(bucketIndex(0)).toBe(0);
    expect(bucketIndex(-5)).toBe(0);
    expect(bucketIndex(1e12)).toBe(bucketIndex(3_600_000));
  });

  it('finds percentiles of a known distribution and keeps the mean exact', () => {
    const h = emptyHistogram();
    for (let ms = 1; ms <= 1_000; ms++) addSample(h, ms);
    const s = summarize(h);
    expect(s.count).toBe(1_000);
    expect(s.meanMs).toBe(500.5);
    expect(s.p50Ms! / 500).toBeCloseTo(1, 1);
    expect(Math.abs(s.p95Ms! - 950) / 950).toBeLessThan(0.03);
    expect(Math.abs(s.p99Ms! - 990) / 990).toBeLessThan(0.03);
    expect(percentileOf(emptyHistogram(), 50)).toBeUndefined();
  });

  it('merges by adding: two halves give the percentiles of the whole', () => {
    const whole = emptyHistogram();
    const a = emptyHistogram();
    const b = emptyHistogram();
    for (let i = 0; i < 500; i++) {
      const x = 10 + ((i * 37) % 400);
      addSample(whole, x);
      addSample(i % 2 ? a : b, x);
    }
    mergeInto(a, b);
    expect(summarize(a)).toEqual(summarize(whole));
  });
});
