import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jobKinds, redisConnectionOptions, type QueueName } from '@conveyor/shared';
import { waitFor } from '@conveyor/shared/testing';
import type { Worker } from 'bullmq';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createHealthServer } from './health-server.ts';
import { watchProgress, type ProgressWatch, type QueueBacklog } from './progress-watch.ts';
import { createWorkerStats } from './start-worker.ts';
import { createJobHarness, silentLogger, type JobHarness } from './testing/job-harness.ts';
import { startTcpProxy, type TcpProxy } from './testing/tcp-proxy.ts';

const email = jobKinds['email.send'].example;
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let harness: JobHarness;

async function serveHealth(workers: Map<QueueName, Worker>, progress: ProgressWatch): Promise<string> {
  const server: Server = createHealthServer({ workers, concurrency: { email: 2 }, stats: createWorkerStats(), logger: silentLogger, progress });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function backlogOf(harness: JobHarness) {
  return async (queue: QueueName): Promise<QueueBacklog> => {
    const q = harness.queue(queue);
    return { ready: await q.getJobCountByTypes('waiting', 'prioritized'), paused: await q.isPaused() };
  };
}

describe('the wedged-worker health check', () => {
  it('answers 503 stalled_worker when jobs wait and a worker cut off from Redis makes no progress, and 200 once it resumes', async () => {
    harness = createJobHarness();
    cleanups.push(() => harness.close());
    const { hostname, port } = new URL(inject('redisUrl'));
    const proxy: TcpProxy = await startTcpProxy({ host: hostname, port: Number(port) });
    // Closes before the harness (LIFO), with traffic flowing so the worker can close.
    cleanups.push(() => proxy.close());
    cleanups.push(() => proxy.restore());

    const worker = harness.startWorker('email', {
      connection: redisConnectionOptions({ url: proxy.url, mode: 'wait-out' }),
      concurrency: 2,
    });
    const workers = new Map<QueueName, Worker>([['email', worker]]);
    const progress = watchProgress({ workers, concurrency: { email: 2 }, backlog: backlogOf(harness), stuckAfterMs: 1_000 });
    cleanups.push(() => progress.stop());
    const base = await serveHealth(workers, progress);

    const first = await harness.add('email.send', email);
    await harness.finished('email', first.id!);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    // The worker's connections stay open but nothing gets through; jobs pile up.
    proxy.blackhole();
    for (let i = 0; i < 3; i++) await harness.add('email.send', email);
    const stalled = await waitFor(async () => {
      const response = await fetch(`${base}/healthz`);
      return response.status === 503 ? response : undefined;
    }, { what: '/healthz to report the wedge', timeoutMs: 15_000 });
    const body = (await stalled.json()) as { error: { code: string; message: string; details: any } };
    expect(body.error.code).toBe('stalled_worker');
    expect(body.error.message).toMatch(/no progress for 1000 ms on email although jobs are waiting/);
    expect(body.error.details).toMatchObject({
      stuck: ['email'],
      stuckAfterMs: 1_000,
      queues: { email: { ready: 3, active: 0, concurrency: 2, stuck: true, lastProgressAt: expect.any(String) } },
    });
    expect(body.error.details.queues.email.stuckForMs).toBeGreaterThanOrEqual(1_000);

    // /readyz says the same: to BullMQ the worker still looks running and connected.
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { error: { code: string } }).error.code).toBe('stalled_worker');

    proxy.restore();
    await waitFor(async () => (await harness.queue('email').getCompletedCount()) === 4, {
      what: 'the backlog to be worked off',
      timeoutMs: 20_000,
    });
    await waitFor(async () => (await fetch(`${base}/healthz`)).status === 200, { what: '/healthz to recover' });
  });

  it('does not call an idle worker stuck when a job has just arrived, nor one whose slots are all busy', async () => {
    const now = { ms: 1_000_000 };
    const backlog = { ready: 0, paused: false };
    const events = new EventEmitter();
    const worker = Object.assign(events, { isPaused: () => false, closing: undefined }) as unknown as Worker;
    const progress = watchProgress({
      workers: new Map([['email', worker]]),
      concurrency: { email: 1 },
      backlog: async () => backlog,
      stuckAfterMs: 1_000,
      now: () => now.ms,
    });
    now.ms += 60_000;
    backlog.ready = 5;
    // First sight of a backlog after a long idle: the clock only starts now.
    expect((await progress.check()).stuck).toEqual([]);
    now.ms += 999;
    expect((await progress.check()).queues.email).toMatchObject({ stuck: false, stuckForMs: 999 });
    now.ms += 1;
    expect((await progress.check()).stuck).toEqual(['email']);

    // A job starts: progress; its one slot is busy, so a long job is no wedge.
    events.emit('active', { id: 'a' });
    now.ms += 5_000;
    expect((await progress.check()).queues.email).toMatchObject({ active: 1, stuck: false, stuckForMs: 0 });
    events.emit('completed', { id: 'a' });
    now.ms += 500;
    expect((await progress.check()).stuck).toEqual([]);

    // A paused queue and an unreadable backlog both start the clock over.
    backlog.paused = true;
    now.ms += 5_000;
    expect((await progress.check()).stuck).toEqual([]);
    backlog.paused = false;
    expect((await progress.check()).queues.email).toMatchObject({ stuckForMs: 0 });
    progress.stop();
  });
});
