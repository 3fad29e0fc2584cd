/**
 * GET /metrics over real HTTP against a real Redis: the contract names with HELP and TYPE, the
 * values of a known state written by a plain BullMQ client and by the worker's own recorder,
 * and histograms that are cumulative. (A real worker process under load: e2e/src/metrics.test.ts.)
 */
import { createQueueModelRecorder, jobKinds, LATENCY_BOUNDS_SEC, type QueueModelRecorder } from '@conveyor/shared';
import { parsePrometheusText, testPrefix, waitFor, type PrometheusExposition } from '@conveyor/shared/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startDashboard, type DashboardFixture } from './dashboard-fixture.ts';

const counters = ['conveyor_jobs_arrived_total', 'conveyor_jobs_completed_total', 'conveyor_jobs_failed_total', 'conveyor_jobs_dead_lettered_total'];
const histograms = ['conveyor_job_wait_seconds', 'conveyor_job_service_seconds'];
const gauges = [
  'conveyor_queue_backlog',
  'conveyor_queue_oldest_waiting_seconds',
  'conveyor_workers_live',
  'conveyor_workers_concurrency',
  'conveyor_queue_in_service',
  'conveyor_queue_delayed',
  'conveyor_queue_utilization',
  'conveyor_queue_arrival_rate_1m',
  'conveyor_queue_completion_rate_1m',
  'conveyor_queue_drain_eta_seconds',
  'conveyor_queue_recommended_workers',
];
const catalogQueues = ['email', 'webhook', 'report'];

describe('GET /metrics on the dashboard', () => {
  const prefix = testPrefix('metrics');
  let dash: DashboardFixture;
  let redis: Redis;
  let recorder: QueueModelRecorder;

  async function scrape(): Promise<{ response: Response; metrics: PrometheusExposition }> {
    const response = await fetch(`${dash.url}/metrics`);
    return { response, metrics: parsePrometheusText(await response.text()) };
  }

  beforeAll(async () => {
    dash = await startDashboard({ redisUrl: inject('redisUrl'), prefix });
    redis = new Redis(inject('redisUrl'));
    // The worker's recorder, as a worker with 4 email slots runs it; the test feeds it attempts.
    recorder = createQueueModelRecorder({ redis, prefix, concurrency: { email: 4 }, flushMs: 60_000, heartbeatMs: 60_000 });

    // Report jobs from a plain BullMQ client, with no worker: two ready, one delayed.
    const report = dash.queues.get('report');
    await report.add('report.generate', jobKinds['report.generate'].example);
    await report.add('report.generate', jobKinds['report.generate'].example);
    await report.add('report.generate', jobKinds['report.generate'].example, { delay: 60_000 });

    const now = Date.now();
    const attempt = (waitMs: number | undefined, serviceMs: number, ok = true) =>
      recorder.attempt('email', { ...(waitMs === undefined ? {} : { readyAtMs: now - waitMs }), startedAtMs: now, finishedAtMs: now + serviceMs, ok });
    attempt(3, 20);
    attempt(30, 20);
    attempt(700, 80);
    attempt(undefined, 4_000, false);
    recorder.deadLettered('email', 2);
    await recorder.flush();
  });

  afterAll(async () => {
    await recorder?.close();
    await redis?.quit();
    await dash?.close();
  });

  it('exposes every contract name with HELP and TYPE, one series per queue, and the process metrics', async () => {
    const { response, metrics } = await scrape();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
    expect(response.headers.get('cache-control')).toBe('no-store');

    for (const [names, type] of [[counters, 'counter'], [gauges, 'gauge'], [histograms, 'histogram']] as const) {
      for (const name of names) {
        expect(metrics.type.get(name), name).toBe(type);
        expect(metrics.help.get(name)?.length, name).toBeGreaterThan(10);
      }
    }
    for (const name of [...counters, 'conveyor_queue_backlog', 'conveyor_queue_oldest_waiting_seconds', 'conveyor_workers_live', 'conveyor_queue_recommended_workers']) {
      expect(metrics.series(name).map((s) => s.labels), name).toEqual(catalogQueues.map((queue) => ({ queue })));
    }
    for (const name of histograms) {
      for (const queue of catalogQueues) {
        const les = metrics.series(`${name}_bucket`, { queue }).map((s) => s.labels.le);
        expect(les, `${name} ${queue}`).toEqual([...LATENCY_BOUNDS_SEC.map(String), '+Inf']);
        expect(metrics.value(`${name}_count`, { queue })).toBeDefined();
        expect(metrics.value(`${name}_sum`, { queue })).toBeDefined();
      }
    }
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(metrics.type.has(name), name).toBe(true);
    }
  });

  it('reports the known state: counters, backlog, delayed, workers, and the oldest waiting job’s age', async () => {
    const metrics = await waitFor(
      async () => {
        const { metrics } = await scrape();
        return (metrics.value('conveyor_queue_oldest_waiting_seconds', { queue: 'report' }) ?? 0) >= 0.05 ? metrics : undefined;
      },
      { what: 'the oldest report job to age' },
    );
    expect(metrics.value('conveyor_jobs_arrived_total', { queue: 'report' })).toBe(3);
    expect(metrics.value('conveyor_queue_backlog', { queue: 'report' })).toBe(2);
    expect(metrics.value('conveyor_queue_delayed', { queue: 'report' })).toBe(1);
    expect(metrics.value('conveyor_queue_in_service', { queue: 'report' })).toBe(0);
    expect(metrics.value('conveyor_workers_live', { queue: 'report' })).toBe(0);
    expect(metrics.value('conveyor_queue_oldest_waiting_seconds', { queue: 'email' })).toBe(0);

    expect(metrics.value('conveyor_jobs_failed_total', { queue: 'email' })).toBe(1);
    expect(metrics.value('conveyor_jobs_dead_lettered_total', { queue: 'email' })).toBe(2);
    expect(metrics.value('conveyor_workers_live', { queue: 'email' })).toBe(1);
    expect(metrics.value('conveyor_workers_concurrency', { queue: 'email' })).toBe(4);
    expect(metrics.value('conveyor_jobs_failed_total', { queue: 'webhook' })).toBe(0);
  });

  it('exposes the recorded wait and service times as cumulative histograms whose count is the attempts', async () => {
    const { metrics } = await scrape();
    const buckets = (name: string) =>
      Object.fromEntries(metrics.series(`${name}_bucket`, { queue: 'email' }).map((s) => [s.labels.le, s.value]));

    // Service: every attempt, completed or failed (20, 20, 80 and 4,000 ms).
    const service = buckets('conveyor_job_service_seconds');
    expect(service).toMatchObject({ '0.01': 0, '0.025': 2, '0.05': 2, '0.1': 3, '2.5': 3, '5': 4, '+Inf': 4 });
    expect(metrics.value('conveyor_job_service_seconds_count', { queue: 'email' })).toBe(4);
    expect(metrics.value('conveyor_job_service_seconds_sum', { queue: 'email' })).toBeCloseTo(4.12, 6);
    // Wait: first attempts only (3, 30 and 700 ms).
    const wait = buckets('conveyor_job_wait_seconds');
    expect(wait).toMatchObject({ '0.005': 1, '0.025': 1, '0.05': 2, '0.5': 2, '1': 3, '+Inf': 3 });
    expect(metrics.value('conveyor_job_wait_seconds_count', { queue: 'email' })).toBe(3);

    for (const name of histograms) {
      for (const queue of catalogQueues) {
        const counts = metrics.series(`${name}_bucket`, { queue }).map((s) => s.value);
        for (let i = 1; i < counts.length; i++) expect(counts[i], `${name} ${queue}`).toBeGreaterThanOrEqual(counts[i - 1]!);
        expect(counts.at(-1)).toBe(metrics.value(`${name}_count`, { queue }));
      }
    }
  });

  it('keeps counting across flushes: the histograms and counters only grow', async () => {
    const before = (await scrape()).metrics;
    const now = Date.now();
    recorder.attempt('email', { startedAtMs: now, finishedAtMs: now + 20, ok: false });
    await recorder.flush();
    const after = (await scrape()).metrics;
    const count = 'conveyor_job_service_seconds_count';
    expect(after.value(count, { queue: 'email' })).toBe(before.value(count, { queue: 'email' })! + 1);
    expect(after.value('conveyor_jobs_failed_total', { queue: 'email' })).toBe(before.value('conveyor_jobs_failed_total', { queue: 'email' })! + 1);
  });

  it('lists the queue model figures beside the counts in /api/queues', async () => {
    const response = await fetch(`${dash.url}/api/queues`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { queues: { name: string; counts: { waiting: number }; figures: any }[] };
    const report = body.queues.find((q) => q.name === 'report')!;
    expect(report.counts.waiting).toBe(2);
    expect(report.figures).toMatchObject({
      queue: 'report',
      backlog: { total: 2, waiting: 2, prioritized: 0, delayedDue: 0 },
      inService: 0,
      delayedLater: 1,
      totals: { arrived: 3 },
      workers: { live: 0, concurrency: 0 },
    });
    expect(report.figures.oldestWaitingAgeMs).toBeGreaterThan(0);
    const email = body.queues.find((q) => q.name === 'email')!;
    expect(email.figures.totals).toMatchObject({ failedAttempts: 2, deadLettered: 2 });
    expect(Object.keys(email.figures.windows)).toEqual(['10s', '1m']);
    expect(email.figures.windows['1m'].service).toMatchObject({ count: expect.any(Number), p95Ms: expect.any(Number) });
  });
});

describe('conveyor_queue_recommended_workers on GET /metrics', () => {
  const prefix = testPrefix('metrics-autoscale');
  // Drain the backlog within 2 minutes rather than the default 5, to see the target at work.
  const autoscale = { targetUtilization: 0.7, drainSec: 120 };
  let dash: DashboardFixture;
  let redis: Redis;
  let recorder: QueueModelRecorder;

  async function scrape(): Promise<PrometheusExposition> {
    const response = await fetch(`${dash.url}/metrics`);
    expect(response.status).toBe(200);
    return parsePrometheusText(await response.text());
  }

  beforeAll(async () => {
    dash = await startDashboard({ redisUrl: inject('redisUrl'), prefix, autoscale });
    redis = new Redis(inject('redisUrl'));
    // One live worker process with 4 email slots, whose attempts took 4 s each.
    recorder = createQueueModelRecorder({ redis, prefix, concurrency: { email: 4 }, flushMs: 60_000, heartbeatMs: 60_000 });
    const now = Date.now();
    for (let i = 0; i < 10; i++) recorder.attempt('email', { startedAtMs: now - 4_000, finishedAtMs: now, ok: true });
    await recorder.flush();
    // A backlog of 600 email jobs from a plain BullMQ client, and 3 report jobs that no worker has ever run.
    const example = jobKinds['email.send'].example;
    await dash.queues.get('email').addBulk(Array.from({ length: 600 }, () => ({ name: 'email.send', data: example })));
    for (let i = 0; i < 3; i++) await dash.queues.get('report').add('report.generate', jobKinds['report.generate'].example);
  });

  afterAll(async () => {
    await recorder?.close();
    await redis?.quit();
    await dash?.close();
  });

  it('sizes the workers by the backlog, the service time and the live slots per worker', async () => {
    const metrics = await waitFor(
      async () => {
        const metrics = await scrape();
        return metrics.value('conveyor_workers_live', { queue: 'email' }) === 1 ? metrics : undefined;
      },
      { what: "the recorder's heartbeat" },
    );
    expect(metrics.value('conveyor_queue_backlog', { queue: 'email' })).toBe(600);
    expect(metrics.value('conveyor_workers_concurrency', { queue: 'email' })).toBe(4);
    // Nothing arrives or runs while the test reads: no steady term. Draining 600 jobs of 4 s in
    // 120 s takes 600 × 4 / 120 = 20 slots, 5 workers of 4 slots.
    expect(metrics.value('conveyor_queue_recommended_workers', { queue: 'email' })).toBe(5);
    // Report jobs with no worker and no service time ever measured: one worker, to measure it.
    expect(metrics.value('conveyor_queue_recommended_workers', { queue: 'report' })).toBe(1);
    // An idle, empty queue needs none.
    expect(metrics.value('conveyor_queue_recommended_workers', { queue: 'webhook' })).toBe(0);
  });

  it('gives the same count per queue in /api/queues', async () => {
    const response = await fetch(`${dash.url}/api/queues`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { queues: { name: string; recommendedWorkers: number | null }[] };
    expect(Object.fromEntries(body.queues.map((q) => [q.name, q.recommendedWorkers]))).toEqual({ email: 5, webhook: 0, report: 1 });
  });
});
