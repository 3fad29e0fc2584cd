import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { testPrefix } from '../testing/index.ts';
import { MINUTE_MS } from './keys.ts';
import { MIN_PARTIAL_SPAN_MS, readQueueHistory } from './history.ts';
import { createQueueModelRecorder } from './recorder.ts';
import { snapshotQueue } from './snapshot.ts';
import { queuePrefix } from '../keys.ts';

const opened: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

/** A fresh prefix, a connection closed after the test, and t0: the start of a minute ten minutes ago. */
function setUp(name: string) {
  const prefix = testPrefix(name);
  const redis = new Redis(inject('redisUrl'));
  opened.push({ close: async () => redis.disconnect() });
  const t0 = (Math.floor(Date.now() / MINUTE_MS) - 10) * MINUTE_MS;
  return { prefix, redis, t0 };
}

/** The `email` queue under `prefix`, on its own connection, closed after the test. */
function emailQueue(redis: Redis, prefix: string): Queue {
  const queue = new Queue('email', { connection: redis.duplicate(), prefix: queuePrefix(prefix, 'email') });
  opened.push(queue);
  return queue;
}

describe('queue history', () => {
  it('turns per-minute snapshots and samples into points of any step, rates from counter differences', async () => {
    // A fixed clock: minute m0 starts at t0.
    const { prefix, redis, t0 } = setUp('qm');
    const queue = emailQueue(redis, prefix);
    let clock = t0;
    const recorder = createQueueModelRecorder({ redis, prefix, concurrency: {}, now: () => clock, heartbeatMs: 3_600_000 });
    opened.push(recorder);
    const snap = (atMs: number) => snapshotQueue(redis, { prefix, queue: 'email', nowMs: atMs, historyTtlSec: 3_600 });

    await snap(t0 + 1_000);
    await queue.addBulk(Array.from({ length: 30 }, () => ({ name: 'email.send', data: {} })));
    for (let i = 0; i < 10; i++) recorder.attempt('email', { readyAtMs: t0 + 5_000, startedAtMs: t0 + 5_050, finishedAtMs: t0 + 5_150, ok: true });
    await snap(t0 + MINUTE_MS + 1_000);
    await queue.addBulk(Array.from({ length: 60 }, () => ({ name: 'email.send', data: {} })));
    recorder.attempt('email', { startedAtMs: t0 + MINUTE_MS + 2_000, finishedAtMs: t0 + MINUTE_MS + 2_400, ok: false });
    clock = t0 + MINUTE_MS + 3_000;
    recorder.deadLettered('email');
    await snap(t0 + 2 * MINUTE_MS + 1_000);
    await recorder.flush();

    const points = await readQueueHistory(redis, { prefix, queue: 'email', fromMs: t0, toMs: t0 + MINUTE_MS + 1 });
    expect(points).toHaveLength(2);
    const [first, second] = points as [(typeof points)[0], (typeof points)[0]];
    expect(first).toMatchObject({ fromMs: t0, toMs: t0 + MINUTE_MS, arrivalRate: 0.5, completionRate: 0, inQueue: 0, completedAttempts: 10, failedAttempts: 0 });
    expect(first.wait).toMatchObject({ count: 10, meanMs: 50 });
    expect(first.service).toMatchObject({ count: 10, meanMs: 100 });
    expect(second).toMatchObject({ arrivalRate: 1, inQueue: 30, failedAttempts: 1, deadLettered: 1, failureRate: 1 });
    expect(second.wait.count).toBe(0);

    const merged = await readQueueHistory(redis, { prefix, queue: 'email', fromMs: t0, toMs: t0 + MINUTE_MS + 1, stepMinutes: 2 });
    expect(merged).toHaveLength(1);
    expect(merged[0]).toMatchObject({ fromMs: t0, toMs: t0 + 2 * MINUTE_MS, arrivalRate: 0.75, completedAttempts: 10, failedAttempts: 1 });
    expect(merged[0]!.service).toMatchObject({ count: 11 });

    // Nobody took a snapshot in the minute after: its rates are unknown, not zero.
    const later = await readQueueHistory(redis, { prefix, queue: 'email', fromMs: t0 + 3 * MINUTE_MS, toMs: t0 + 3 * MINUTE_MS });
    expect(later[0]).toMatchObject({ arrivalRate: null, completionRate: null, inQueue: null });
  });

  it('reports the minute in progress as a partial point, rates over its elapsed seconds', async () => {
    const { prefix, redis, t0 } = setUp('qm-partial');
    const queue = emailQueue(redis, prefix);
    const snap = (atMs: number) => snapshotQueue(redis, { prefix, queue: 'email', nowMs: atMs, historyTtlSec: 3_600 });

    await snap(t0 + 1_000);
    await queue.addBulk(Array.from({ length: 12 }, () => ({ name: 'email.send', data: {} })));
    await snap(t0 + MINUTE_MS + 2_000);
    await queue.addBulk(Array.from({ length: 15 }, () => ({ name: 'email.send', data: {} })));

    // Thirty seconds into minute 1, which has its first snapshot at 2 s and no next one yet.
    const nowMs = t0 + MINUTE_MS + 32_000;
    const points = await readQueueHistory(redis, { prefix, queue: 'email', fromMs: t0, toMs: nowMs, nowMs, historyTtlSec: 3_600 });
    expect(points).toHaveLength(2);
    expect(points[0]).toMatchObject({ fromMs: t0, toMs: t0 + MINUTE_MS, partial: false, arrivalRate: 12 / 61 });
    expect(points[1]).toMatchObject({ fromMs: t0 + MINUTE_MS, toMs: nowMs, partial: true, arrivalRate: 0.5, completionRate: 0, inQueue: 12 });

    // Points of several minutes: the step in progress is partial the same way.
    const steps = await readQueueHistory(redis, { prefix, queue: 'email', fromMs: t0, toMs: nowMs, nowMs, stepMinutes: 5, historyTtlSec: 3_600 });
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({ fromMs: t0, toMs: nowMs, partial: true, arrivalRate: 27 / 91 });

    // A whole minute is never partial, and reading it takes no snapshot.
    const past = await readQueueHistory(redis, { prefix, queue: 'email', fromMs: t0, toMs: t0 + MINUTE_MS - 1, nowMs });
    expect(past.map((p) => p.partial)).toEqual([false]);
  });

  it("leaves the partial point's rates null until MIN_PARTIAL_SPAN_MS have elapsed", async () => {
    const { prefix, redis, t0 } = setUp('qm-partial-short');
    await snapshotQueue(redis, { prefix, queue: 'email', nowMs: t0 + 1_000, historyTtlSec: 3_600 });
    const nowMs = t0 + 1_000 + MIN_PARTIAL_SPAN_MS - 1;
    const [point] = await readQueueHistory(redis, { prefix, queue: 'email', fromMs: t0, toMs: nowMs, nowMs });
    expect(point).toMatchObject({ partial: true, arrivalRate: null, completionRate: null, inQueue: 0 });
  });
});
