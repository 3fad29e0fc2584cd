import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { jobKinds, jobOptionsFor, redisConnectionOptions, queuePrefix } from '@conveyor/shared';
import { freePort, startApp, startRedisServer, testPrefix, waitFor, type AppProcess, type RedisServerHandle } from '@conveyor/shared/testing';
// Declares `inject('redisUrl')`.
import type {} from '@conveyor/shared/testing/global-setup';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';

const entry = fileURLToPath(new URL('./main.ts', import.meta.url));
const workerDir = fileURLToPath(new URL('..', import.meta.url));
const email = jobKinds['email.send'].example;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function start(env: Record<string, string>): AppProcess {
  const app = startApp(entry, { PORT: '0', WEBHOOK_SIGNING_SECRET: 'runtime-test-secret', ...env }, workerDir);
  cleanups.push(() => app.stop('SIGKILL'));
  return app;
}

async function privateRedis(extraArgs: string[] = [], port?: number): Promise<RedisServerHandle> {
  const server = await startRedisServer({ extraArgs, ...(port ? { port } : {}) });
  cleanups.push(() => server.stop());
  return server;
}

function queueOn(url: string, name: string, prefix: string): Queue {
  const queue = new Queue(name, { connection: redisConnectionOptions({ url, mode: 'wait-out' }), prefix: queuePrefix(prefix, name) });
  queue.on('error', () => {});
  cleanups.push(() => queue.close());
  return queue;
}

async function readyzOk(app: AppProcess): Promise<void> {
  await app.waitForOutput(/worker ready/);
  const base = /"healthUrl":"(http:\/\/[^"]+)"/.exec(app.output())?.[1];
  await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, { what: '/readyz to answer 200', timeoutMs: 15_000 });
}

/** Enqueues an email and returns how long it took to complete, in ms. */
async function timeToComplete(queue: Queue, timeoutMs: number): Promise<number> {
  const startedMs = Date.now();
  const job = await queue.add('email.send', email, jobOptionsFor(jobKinds['email.send']));
  await waitFor(async () => (await queue.getJobState(job.id!)) === 'completed', { what: 'the job to complete', timeoutMs, intervalMs: 50 });
  return Date.now() - startedMs;
}

describe('the Redis settings gate in the worker process', () => {
  it('refuses a Redis whose maxmemory-policy may evict jobs: message on stderr, exit 2', async () => {
    const redis = await privateRedis(['--maxmemory-policy', 'allkeys-lru']);
    const app = start({ REDIS_URL: redis.url, CONVEYOR_PREFIX: testPrefix('gate') });
    expect(await app.exited).toEqual({ code: 2, signal: null });
    expect(app.output()).toMatch(/worker: Refusing to start: Redis maxmemory-policy is "allkeys-lru"/);
    expect(app.output()).toContain('REDIS_ALLOW_EVICTION=true');
  });

  it('refuses it too when Redis only comes up after the worker started', async () => {
    const port = await freePort();
    const app = start({ REDIS_URL: `redis://127.0.0.1:${port}`, CONVEYOR_PREFIX: testPrefix('gate') });
    await app.waitForOutput(/worker ready/);
    await privateRedis(['--maxmemory-policy', 'allkeys-random'], port);
    expect(await app.exited).toEqual({ code: 2, signal: null });
    expect(app.output()).toMatch(/Refusing to start: Redis maxmemory-policy is "allkeys-random"/);
  });

  it('starts with a warning and works when REDIS_ALLOW_EVICTION=true', async () => {
    const redis = await privateRedis(['--maxmemory-policy', 'allkeys-lru']);
    const prefix = testPrefix('gate');
    const app = start({ REDIS_URL: redis.url, CONVEYOR_PREFIX: prefix, WORKER_QUEUES: 'email', REDIS_ALLOW_EVICTION: 'true' });
    await app.waitForOutput(/allowed by REDIS_ALLOW_EVICTION=true/);
    await timeToComplete(queueOn(redis.url, 'email', prefix), 10_000);
    expect(await app.stop()).toEqual({ code: 0, signal: null });
  });
});

describe('WORKER_JOB_TIMEOUT_MS', () => {
  it("ends a kind's attempts at the overridden timeout", async () => {
    const hanging: Server = createServer(() => {});
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => { hanging.closeAllConnections(); hanging.close(resolve); }));
    const prefix = testPrefix('timeout');
    const app = start({
      REDIS_URL: inject('redisUrl'),
      CONVEYOR_PREFIX: prefix,
      WORKER_QUEUES: 'webhook',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      WEBHOOK_TIMEOUT_MS: '60000',
      WORKER_JOB_TIMEOUT_MS: 'webhook.deliver=300',
    });
    await app.waitForOutput(/worker ready/);
    const queue = queueOn(inject('redisUrl'), 'webhook', prefix);
    const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/hook`;
    const job = await queue.add('webhook.deliver', { url, event: 'test.hang', payload: {} }, { ...jobOptionsFor(jobKinds['webhook.deliver']), attempts: 1 });
    // The job fails for good (one attempt) and is dead-lettered; the worker logs why.
    const line = await app.waitForOutput(/\{[^\n]*"job failed for good"[^\n]*\}/, 10_000);
    expect(JSON.parse(line)).toMatchObject({ jobId: job.id, job: 'webhook.deliver', reason: 'timeout after 300 ms' });
  });
});

describe('an idle worker process after Redis trouble', () => {
  it('processes a new job within seconds after a Redis outage longer than 10 s', async () => {
    const redis = await privateRedis();
    const prefix = testPrefix('outage');
    const app = start({ REDIS_URL: redis.url, CONVEYOR_PREFIX: prefix, WORKER_QUEUES: 'email', EMAIL_LATENCY_MS: '0' });
    await readyzOk(app);
    await timeToComplete(queueOn(redis.url, 'email', prefix), 10_000);

    await redis.stop();
    const downSinceMs = Date.now();
    await waitFor(() => Date.now() - downSinceMs > 11_000, { what: 'an 11 s outage', timeoutMs: 12_000, intervalMs: 250 });
    const back = await privateRedis([], redis.port);
    const queue = queueOn(back.url, 'email', prefix);
    // Redis came back empty: the worker must notice, reconnect (≤ 5 s backoff) and fetch.
    const elapsedMs = await timeToComplete(queue, 15_000);
    expect(elapsedMs).toBeLessThan(8_000);
    expect(app.child.exitCode).toBeNull();
  });

  it('processes a new job within seconds after CLIENT KILL of its connections', async () => {
    const redis = await privateRedis();
    const prefix = testPrefix('kill');
    const app = start({ REDIS_URL: redis.url, CONVEYOR_PREFIX: prefix, WORKER_QUEUES: 'email', EMAIL_LATENCY_MS: '0' });
    await readyzOk(app);
    const queue = queueOn(redis.url, 'email', prefix);
    await timeToComplete(queue, 10_000);

    const admin = new Redis(redis.url);
    cleanups.push(() => admin.quit());
    const workerClients = async () => ((await admin.call('CLIENT', 'LIST', 'TYPE', 'normal')) as string).split('\n').filter((line) => line.includes('name=conveyor:worker')).length;
    const before = await workerClients();
    expect(before).toBeGreaterThan(0);
    expect(Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'normal'))).toBeGreaterThanOrEqual(before);
    const elapsedMs = await timeToComplete(queue, 15_000);
    expect(elapsedMs).toBeLessThan(5_000);
    expect(app.child.exitCode).toBeNull();
  });
});

describe('lock settings from the environment', () => {
  it("recovers a SIGKILLed worker's job within seconds under a short WORKER_LOCK_DURATION_MS", async () => {
    const prefix = testPrefix('stall');
    const env = {
      REDIS_URL: inject('redisUrl'),
      CONVEYOR_PREFIX: prefix,
      WORKER_QUEUES: 'report',
      WORKER_LOCK_DURATION_MS: '2000',
      WORKER_STALLED_INTERVAL_MS: '500',
    };
    const doomed = start({ ...env, REPORT_STEP_DELAY_MS: '5000' });
    await doomed.waitForOutput(/worker ready/);
    const queue = queueOn(inject('redisUrl'), 'report', prefix);
    const job = await queue.add('report.generate', { reportId: 'rpt_stall', rows: 10 }, jobOptionsFor(jobKinds['report.generate']));
    await waitFor(async () => (await queue.getJobState(job.id!)) === 'active', { what: 'the report to start' });

    // The rescuer is up before the kill, so that the time measured is the lock's and the
    // stalled check's, not a process start-up (1–3 s on a loaded CI machine, which once made
    // this 5.8 s). It cannot take the job while the doomed worker holds its lock.
    const rescuer = start({ ...env, REPORT_STEP_DELAY_MS: '1' });
    await rescuer.waitForOutput(/worker ready/);
    expect(await queue.getJobState(job.id!)).toBe('active');
    expect(await doomed.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    const killedAtMs = Date.now();
    await waitFor(async () => (await queue.getJobState(job.id!)) === 'completed', { what: 'the report to be rerun', timeoutMs: 15_000 });
    const done = await queue.getJob(job.id!);
    // Lock gone ≤ 2 s after the kill, found by a stalled check ≤ 1 s later (two 500 ms rounds);
    // with the default 15 s lock this would take over 15 s.
    expect(done!.processedOn! - killedAtMs).toBeLessThan(5_000);
    expect(done!.attemptsMade).toBe(1);
    expect(done!.stalledCounter).toBe(1);
  });
});
