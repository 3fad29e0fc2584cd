import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { testPrefix, waitFor } from '../testing/index.ts';
import { workerProcessKey, workersKey } from './keys.ts';
import { readQueueModel } from './reader.ts';
import { createQueueModelRecorder, WORKER_LIVE_MS, WORKER_PROCESS_TTL_SEC } from './recorder.ts';
import { readWorkers } from './workers.ts';

const opened: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

function connect(): Redis {
  const redis = new Redis(inject('redisUrl'));
  opened.push({ close: async () => redis.disconnect() });
  return redis;
}

describe('worker processes', () => {
  it('lists a heartbeating process with its queues, jobs in hand, uptime and heartbeat age', async () => {
    const prefix = testPrefix('workers');
    const redis = connect();
    const startedAtMs = Date.now() - 90_000;
    const recorder = createQueueModelRecorder({
      redis,
      prefix,
      concurrency: { email: 4, report: 1 },
      identity: 'box-a:101',
      startedAtMs,
      activeJobs: () => ({ email: 3 }),
      heartbeatMs: 3_600_000,
    });
    opened.push(recorder);
    await waitFor(() => redis.exists(workerProcessKey(prefix, 'box-a:101')), { what: 'the first heartbeat' });

    const nowMs = Date.now();
    const workers = await readWorkers(redis, { prefix, queues: ['email', 'report', 'webhook'], nowMs });
    expect(workers).toHaveLength(1);
    const [worker] = workers;
    expect(worker).toMatchObject({
      id: 'box-a:101',
      host: hostname(),
      pid: process.pid,
      queues: [
        { queue: 'email', concurrency: 4, active: 3 },
        { queue: 'report', concurrency: 1, active: 0 },
      ],
      concurrency: 5,
      active: 3,
      startedAtMs,
    });
    expect(worker!.uptimeMs).toBe(nowMs - startedAtMs);
    expect(worker!.beatAgeMs).toBeGreaterThanOrEqual(0);
    expect(worker!.beatAgeMs).toBeLessThan(WORKER_LIVE_MS);

    // The record vanishes by itself a bit after the live window.
    const ttl = await redis.ttl(workerProcessKey(prefix, 'box-a:101'));
    expect(ttl).toBeGreaterThan(WORKER_LIVE_MS / 1_000);
    expect(ttl).toBeLessThanOrEqual(WORKER_PROCESS_TTL_SEC);
    expect(WORKER_PROCESS_TTL_SEC).toBeLessThan(60);

    // Existing readers still parse the per-queue field `<concurrency>:<beatMs>`.
    expect(await redis.hget(workersKey(prefix, 'email'), 'box-a:101')).toMatch(/^4:\d+$/);
    const [email] = await readQueueModel(redis, { prefix, queues: ['email'] });
    expect(email!.workers).toEqual({ live: 1, concurrency: 4 });

    await recorder.close();
    expect(await redis.exists(workerProcessKey(prefix, 'box-a:101'))).toBe(0);
    expect(await readWorkers(redis, { prefix, queues: ['email', 'report'] })).toEqual([]);
  });

  it('drops a process whose last heartbeat is older than the live window, and says jobs in hand are unknown when not reported', async () => {
    const prefix = testPrefix('workers');
    const redis = connect();
    const beatAt = Date.now();
    let clock = beatAt - WORKER_LIVE_MS - 1_000;
    const stale = createQueueModelRecorder({ redis, prefix, concurrency: { email: 2 }, identity: 'box-b:7', now: () => clock, heartbeatMs: 3_600_000 });
    opened.push(stale);
    await waitFor(() => redis.exists(workerProcessKey(prefix, 'box-b:7')), { what: 'the stale heartbeat' });
    clock = beatAt;
    const live = createQueueModelRecorder({ redis, prefix, concurrency: { email: 2 }, identity: 'box-a:8', now: () => clock, heartbeatMs: 3_600_000 });
    opened.push(live);
    await waitFor(() => redis.exists(workerProcessKey(prefix, 'box-a:8')), { what: 'the live heartbeat' });

    const workers = await readWorkers(redis, { prefix, queues: ['email'], nowMs: beatAt + 1_000 });
    expect(workers.map((w) => w.id)).toEqual(['box-a:8']);
    expect(workers[0]).toMatchObject({ active: null, concurrency: 2, beatAgeMs: 1_000, queues: [{ queue: 'email', concurrency: 2, active: null }] });
  });

  it('skips records that are missing or not its own JSON', async () => {
    const prefix = testPrefix('workers');
    const redis = connect();
    await redis.hset(workersKey(prefix, 'email'), 'gone:1', `1:${Date.now()}`, 'odd:2', `1:${Date.now()}`);
    await redis.set(workerProcessKey(prefix, 'odd:2'), 'not json');
    expect(await readWorkers(redis, { prefix, queues: ['email'] })).toEqual([]);
  });
});
