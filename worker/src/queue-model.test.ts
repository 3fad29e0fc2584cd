/**
 * The queue model's proof: a known load through a real worker — Poisson arrivals at
 * λ ≈ 7/s from a plain BullMQ client, a handler that takes S = 100 ms, one slot (ρ ≈ 0.7) —
 * and the figures Conveyor reports checked against what this test measures itself from the
 * jobs (within 10 %), and Little's law L ≈ λ·W for the waiting part.
 */
import { createQueueModelRecorder, jobKinds, jobOptionsFor, queuePrefix, readQueueModel, type QueueModelRecorder } from '@conveyor/shared';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createHandlers } from './handlers/index.ts';
import { waitFor } from '@conveyor/shared/testing';
import { createJobHarness, fastHandlerDeps, type JobHarness } from './testing/job-harness.ts';

let harness: JobHarness | undefined;
let recorder: QueueModelRecorder | undefined;
let redis: Redis | undefined;

afterEach(async () => {
  await harness?.close();
  await recorder?.close();
  redis?.disconnect();
  harness = recorder = redis = undefined;
});

const SERVICE_MS = 100;
const email = { to: 'ada@example.com', subject: 'Hi', body: '' };

function setup(concurrency: number) {
  harness = createJobHarness();
  redis = new Redis(inject('redisUrl'));
  recorder = createQueueModelRecorder({ redis, prefix: harness.prefix, concurrency: { email: concurrency }, flushMs: 200, heartbeatMs: 1_000 });
  harness.startWorker('email', {
    concurrency,
    recorder,
    handlers: createHandlers({ ...fastHandlerDeps, email: { latencyMs: SERVICE_MS } }),
  });
  return { harness, redis, recorder };
}

const within = (actual: number, expected: number, tolerance: number) =>
  expect(Math.abs(actual - expected) / expected, `${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);

describe('the queue model', () => {
  it('reports λ, θ, W and S of a known load within 10 %, and L ≈ λ·W', { timeout: 60_000 }, async () => {
    const { harness, redis, recorder } = setup(1);
    const queue = harness.queue('email');
    const options = jobOptionsFor(jobKinds['email.send']);
    const addedAt: number[] = [];
    const backlogSamples: { atMs: number; waiting: number }[] = [];
    const runMs = 22_000;
    const start = Date.now();

    const sampling = (async () => {
      while (Date.now() - start < runMs) {
        backlogSamples.push({ atMs: Date.now(), waiting: await redis.llen(`${queuePrefix(harness.prefix, 'email')}:email:wait`) });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    // Poisson arrivals at 7/s, from a plain BullMQ client.
    while (Date.now() - start < runMs) {
      await new Promise((resolve) => setTimeout(resolve, -Math.log(1 - Math.random()) * (1_000 / 7)));
      await queue.add('email.send', email, options);
      addedAt.push(Date.now());
    }
    await sampling;
    // Let the last arrivals finish, so that no job completes between the flush and the read.
    await waitFor(async () => (await queue.getWaitingCount()) + (await queue.getActiveCount()) === 0, { what: 'the queue drained' });
    await recorder.flush();
    const [figures] = await readQueueModel(redis, { prefix: harness.prefix, queues: ['email'] });
    const window = figures!.windows['10s'];

    // What the test saw, over exactly the spans the figures cover.
    const jobs = (await queue.getJobs(['completed'], 0, -1)).filter((j) => j.finishedOn! >= window.fromMs && j.finishedOn! <= window.toMs);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const measuredW = mean(jobs.map((j) => j.processedOn! - j.timestamp));
    const measuredS = mean(jobs.map((j) => j.finishedOn! - j.processedOn!));
    const rateSpanSec = (window.toMs - window.ratesFromMs!) / 1_000;
    const measuredLambda = addedAt.filter((t) => t > window.ratesFromMs! && t <= window.toMs).length / rateSpanSec;
    const finishedInRateSpan = (await queue.getJobs(['completed'], 0, -1)).filter((j) => j.finishedOn! > window.ratesFromMs! && j.finishedOn! <= window.toMs);
    const measuredTheta = finishedInRateSpan.length / rateSpanSec;

    expect(jobs.length).toBeGreaterThan(40);
    // The worker stamps a job's finish just before BullMQ's finishedOn (the move to completed
    // comes after the handler returns), so a job finishing within a few ms of a window edge
    // may fall on either side of it; every other job must be counted exactly once.
    const EDGE_MS = 25;
    const all = await queue.getJobs(['completed'], 0, -1);
    const nearStart = all.filter((j) => j.finishedOn! >= window.fromMs && j.finishedOn! < window.fromMs + EDGE_MS).length;
    const nearEnd = all.filter((j) => j.finishedOn! > window.toMs && j.finishedOn! <= window.toMs + EDGE_MS).length;
    expect(window.wait.count).toBeGreaterThanOrEqual(jobs.length - nearStart);
    expect(window.wait.count).toBeLessThanOrEqual(jobs.length + nearEnd);
    within(window.arrivalRate!, measuredLambda, 0.1);
    within(window.completionRate!, measuredTheta, 0.1);
    within(window.service.meanMs!, measuredS, 0.1);
    within(window.service.p50Ms!, SERVICE_MS, 0.1);
    // W is measured from the same jobs by BullMQ's timestamps, so only instrument error remains;
    // a floor of 5 ms covers timer resolution when the queue happens to run nearly empty.
    expect(Math.abs(window.wait.meanMs! - measuredW)).toBeLessThanOrEqual(Math.max(5, measuredW * 0.1));

    // Little's law for the waiting part: time-averaged waiting ≈ λ·W over the window.
    const inWindow = backlogSamples.filter((s) => s.atMs >= window.fromMs && s.atMs <= window.toMs);
    const averageWaiting = mean(inWindow.map((s) => s.waiting));
    const littles = window.arrivalRate! * (window.wait.meanMs! / 1_000);
    expect(Math.abs(averageWaiting - littles)).toBeLessThanOrEqual(Math.max(0.15, littles * 0.25));

    expect(figures!.workers).toEqual({ live: 1, concurrency: 1 });
    expect(figures!.utilization).toBeGreaterThan(0.4);
    expect(figures!.utilization).toBeLessThan(1);
    expect(figures!.windows['1m'].failureRate).toBe(0);
  });

  it('counts arrivals from any BullMQ client even when completed jobs are removed at once', async () => {
    const { harness, redis, recorder } = setup(2);
    const queue = harness.queue('email');
    for (let i = 0; i < 6; i++) await queue.add('email.send', email, { removeOnComplete: true });
    await queue.add('email.send', email, { removeOnComplete: true, delay: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await recorder.flush();
    const [figures] = await readQueueModel(redis, { prefix: harness.prefix, queues: ['email'] });
    expect(await queue.getCompletedCount()).toBe(0);
    expect(figures!.totals).toMatchObject({ arrived: 7, completed: 6 });
    expect(figures!.delayedLater).toBe(1);
    expect(figures!.backlog.total).toBe(0);
    expect(figures!.windows['10s'].service.count).toBe(6);
    expect(figures!.drain).toEqual({ state: 'empty' });
  });

  it('never double-counts with several workers recording and several readers snapshotting', async () => {
    harness = createJobHarness();
    redis = new Redis(inject('redisUrl'));
    const prefix = harness.prefix;
    const second = new Redis(inject('redisUrl'));
    const recorders = [1, 2].map((n) =>
      createQueueModelRecorder({ redis: n === 1 ? redis! : second, prefix, concurrency: { email: 3 }, flushMs: 100, heartbeatMs: 200, identity: `w${n}` }),
    );
    for (const r of recorders) harness.startWorker('email', { concurrency: 3, recorder: r, handlers: createHandlers({ ...fastHandlerDeps, email: { latencyMs: 20 } }) });
    const queue = harness.queue('email');
    const options = jobOptionsFor(jobKinds['email.send']);
    const readers = (async () => {
      for (let i = 0; i < 20; i++) {
        await Promise.all([redis!, second].map((r) => readQueueModel(r, { prefix, queues: ['email'] })));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    for (let i = 0; i < 40; i++) await queue.add('email.send', email, options);
    await readers;
    await waitFor(async () => (await queue.getCompletedCount()) === 40, { what: '40 jobs completed' });
    await Promise.all(recorders.map((r) => r.flush()));
    const [figures] = await readQueueModel(redis, { prefix, queues: ['email'] });
    await Promise.all(recorders.map((r) => r.close()));
    second.disconnect();
    expect(figures!.totals).toMatchObject({ arrived: 40, completed: 40 });
    expect(figures!.windows['1m'].service.count).toBe(40);
    expect(figures!.windows['1m'].wait.count).toBe(40);
    expect(figures!.workers).toEqual({ live: 2, concurrency: 6 });
  });

  it('reports the oldest waiting job’s age and a growing backlog when nobody works', async () => {
    harness = createJobHarness();
    redis = new Redis(inject('redisUrl'));
    const queue = harness.queue('email');
    await queue.add('email.send', email);
    const [before] = await readQueueModel(redis, { prefix: harness.prefix, queues: ['email'] });
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    for (let i = 0; i < 4; i++) await queue.add('email.send', email);
    const [figures] = await readQueueModel(redis, { prefix: harness.prefix, queues: ['email'] });
    expect(before!.backlog.waiting).toBe(1);
    expect(figures!.backlog).toMatchObject({ total: 5, waiting: 5 });
    expect(figures!.oldestWaitingAgeMs).toBeGreaterThanOrEqual(1_200);
    expect(figures!.workers.live).toBe(0);
    expect(figures!.windows['10s'].arrivalRate).toBeGreaterThan(2);
    expect(figures!.drain).toMatchObject({ state: 'growing' });
  });
});
