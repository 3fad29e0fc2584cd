import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { LATENCY_BOUNDS_SEC, readLatencyTotals, toPrometheusHistogram } from './latency-totals.ts';
import { addSample, emptyHistogram } from './queue-model/histogram.ts';
import { histogramTotalsKey } from './queue-model/keys.ts';
import { createQueueModelRecorder, type QueueModelRecorder } from './queue-model/recorder.ts';
import { testPrefix } from './testing/index.ts';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function histogramOf(samplesMs: number[]) {
  const histogram = emptyHistogram();
  for (const ms of samplesMs) addSample(histogram, ms);
  return histogram;
}

const countAt = (h: ReturnType<typeof toPrometheusHistogram>, le: number) => h.buckets.find((b) => b.le === le)!.count;

describe('Prometheus buckets from the log histogram', () => {
  it('counts cumulatively under the fixed bounds, with +Inf equal to the count', () => {
    const h = toPrometheusHistogram(histogramOf([0, 0.5, 3, 7, 40, 2_000, 400_000]));
    expect(h.buckets.map((b) => b.le)).toEqual([...LATENCY_BOUNDS_SEC, Infinity]);
    expect(h.buckets.map((b) => b.count)).toEqual([3, 4, 4, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 7]);
    expect(h.count).toBe(7);
    expect(h.sumSec).toBeCloseTo(402.0505, 6);
    for (let i = 1; i < h.buckets.length; i++) expect(h.buckets[i]!.count).toBeGreaterThanOrEqual(h.buckets[i - 1]!.count);
  });

  it('never counts a sample above a bound, and misses only samples within 5 % below it', () => {
    for (const boundSec of LATENCY_BOUNDS_SEC) {
      const boundMs = boundSec * 1_000;
      expect(countAt(toPrometheusHistogram(histogramOf([boundMs * 1.0001])), boundSec), `${boundSec} s`).toBe(0);
      expect(countAt(toPrometheusHistogram(histogramOf([boundMs * 0.952])), boundSec), `${boundSec} s`).toBe(1);
    }
    // A sample of exactly 1 s shares its fine bucket (970–1,018 ms) with samples above 1 s.
    expect(countAt(toPrometheusHistogram(histogramOf([1_000])), 1)).toBe(0);
    expect(countAt(toPrometheusHistogram(histogramOf([1_000])), 2.5)).toBe(1);
  });

  it('is empty but complete for a queue without samples', () => {
    const h = toPrometheusHistogram(emptyHistogram());
    expect(h.buckets).toHaveLength(LATENCY_BOUNDS_SEC.length + 1);
    expect(h.buckets.every((b) => b.count === 0)).toBe(true);
    expect(h).toMatchObject({ count: 0, sumSec: 0 });
  });
});

describe('histogram totals in Redis', () => {
  function setup(): { redis: Redis; recorder: QueueModelRecorder; prefix: string } {
    const redis = new Redis(inject('redisUrl'));
    const prefix = testPrefix('hist');
    const recorder = createQueueModelRecorder({ redis, prefix, concurrency: { email: 1, report: 1 }, flushMs: 60_000, heartbeatMs: 60_000 });
    cleanups.push(() => redis.quit(), () => recorder.close());
    return { redis, recorder, prefix };
  }

  it('adds every flush to one never-expiring hash per queue, read back as the whole histogram', async () => {
    const { redis, recorder, prefix } = setup();
    const now = Date.now();
    recorder.attempt('email', { readyAtMs: now - 30, startedAtMs: now, finishedAtMs: now + 40, ok: true });
    recorder.attempt('email', { startedAtMs: now, finishedAtMs: now + 3, ok: false });
    await recorder.flush();
    recorder.attempt('email', { readyAtMs: now - 2_000, startedAtMs: now, finishedAtMs: now + 200, ok: true });
    await recorder.flush();

    expect(await redis.ttl(histogramTotalsKey(prefix, 'email'))).toBe(-1);
    const [email, report] = await readLatencyTotals(redis, { prefix, queues: ['email', 'report'] });
    expect(email!.queue).toBe('email');
    expect(email!.wait).toEqual(histogramOf([30, 2_000]));
    expect(email!.service).toEqual(histogramOf([40, 3, 200]));
    expect(report).toEqual({ queue: 'report', wait: emptyHistogram(), service: emptyHistogram() });

    const service = toPrometheusHistogram(email!.service);
    expect(service.count).toBe(3);
    expect(service.sumSec).toBeCloseTo(0.243, 6);
    expect(countAt(service, 0.005)).toBe(1);
    expect(countAt(service, 0.05)).toBe(2);
    expect(countAt(service, 0.25)).toBe(3);
  });
});
