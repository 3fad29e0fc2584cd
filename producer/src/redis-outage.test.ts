import { isRedisReady, queuePrefix } from '@conveyor/shared';
import { freePort, startRedisServer, waitFor, type RedisServerHandle } from '@conveyor/shared/testing';
import { Queue } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedisUnavailableError } from './client.ts';
import { idempotentJobId } from './idempotency.ts';
import { get, post, startTestServer, type TestServer } from './testing/test-server.ts';

const email = { to: 'ada@example.com', subject: 'Welcome', body: 'Hello Ada!' };

// Each test runs its own redis-server, so it can stop, freeze and restart it.
let redisServer: RedisServerHandle;
let app: TestServer;

beforeEach(async () => {
  redisServer = await startRedisServer();
  app = await startTestServer({ redisUrl: redisServer.url });
});

afterEach(async () => {
  await app?.close();
  await redisServer?.stop();
});

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; elapsedMs: number }> {
  const started = performance.now();
  const value = await run();
  return { value, elapsedMs: performance.now() - started };
}

function expect503(res: { status: number; headers: Headers; json: any }) {
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toBe('1');
  expect(res.json).toEqual({ error: { code: 'redis_unavailable', message: expect.any(String), details: expect.any(Object) } });
}

describe('while Redis is down', () => {
  it('answers POST, GET and /readyz with 503 and Retry-After within a second, and /healthz with 200', async () => {
    await redisServer.stop();
    await waitFor(() => !isRedisReady(app.redis), { what: 'the client to notice the outage' });

    const enqueue = await timed(() => post(`${app.url}/v1/jobs/email.send`, { data: email }));
    expect503(enqueue.value);
    expect(enqueue.elapsedMs).toBeLessThan(1_000);

    const idempotent = await timed(() => post(`${app.url}/v1/jobs/email.send`, { data: email }, { 'idempotency-key': 'k' }));
    expect503(idempotent.value);
    expect(idempotent.elapsedMs).toBeLessThan(1_000);

    const status = await timed(() => get(`${app.url}/v1/jobs/email.send/1`));
    expect503(status.value);
    expect(status.elapsedMs).toBeLessThan(1_000);

    const ready = await timed(() => get(`${app.url}/readyz`));
    expect503(ready.value);
    expect(ready.elapsedMs).toBeLessThan(1_000);

    expect(await get(`${app.url}/healthz`)).toMatchObject({ status: 200, json: { status: 'ok' } });
    const metrics = await fetch(`${app.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('# TYPE process_resident_memory_bytes gauge');
  });

  it('throws RedisUnavailableError from the client at once', async () => {
    await redisServer.stop();
    await waitFor(() => !isRedisReady(app.redis), { what: 'the client to notice the outage' });
    const { value: error, elapsedMs } = await timed(() =>
      app.producer.enqueue('email.send', email).catch((thrown: unknown) => thrown),
    );
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(elapsedMs).toBeLessThan(100);
  });

  it('does not add a job requested during the outage once Redis comes back', async () => {
    const { port } = redisServer;
    await redisServer.stop();
    await waitFor(() => !isRedisReady(app.redis), { what: 'the client to notice the outage' });
    expect503(await post(`${app.url}/v1/jobs/email.send`, { data: email }, { 'idempotency-key': 'during-outage' }));

    redisServer = await startRedisServer({ port });
    await waitFor(() => isRedisReady(app.redis), { what: 'the client to reconnect', timeoutMs: 10_000 });
    // Anything BullMQ had held back would be written on reconnect; nothing must be.
    expect(await get(`${app.url}/readyz`)).toMatchObject({ status: 200 });
    expect((await get(`${app.url}/v1/jobs/email.send/${idempotentJobId('email.send', 'during-outage')}`)).status).toBe(404);
  });
});

describe('when the app starts before Redis', () => {
  it('answers 503 at once, and the refused job never appears once Redis is up', async () => {
    // The queues have never been ready: BullMQ would hold an add until they are.
    const port = await freePort();
    const early = await startTestServer({ redisUrl: `redis://127.0.0.1:${port}`, waitForRedis: false });
    let late: RedisServerHandle | undefined;
    try {
      const enqueue = await timed(() => post(`${early.url}/v1/jobs/email.send`, { data: email }));
      expect503(enqueue.value);
      expect(enqueue.elapsedMs).toBeLessThan(1_000);

      late = await startRedisServer({ port });
      await waitFor(
        async () => (await get(`${early.url}/readyz`)).status === 200,
        { what: '/readyz to answer 200', timeoutMs: 10_000 },
      );
      expect((await post(`${early.url}/v1/jobs/email.send`, { data: email })).status).toBe(201);
      const queue = new Queue('email', { connection: early.redis, prefix: queuePrefix(early.prefix, 'email') });
      queue.on('error', () => {});
      try {
        // Only the job enqueued after Redis came up; the refused one was never added.
        expect(await queue.count()).toBe(1);
      } finally {
        await queue.close();
      }
    } finally {
      await early.close();
      await late?.stop();
    }
  });
});

describe('when Redis stops answering but keeps the connection open', () => {
  it('answers 503 within a second: every Redis call has a deadline', async () => {
    redisServer.process.kill('SIGSTOP');
    try {
      const enqueue = await timed(() => post(`${app.url}/v1/jobs/email.send`, { data: email }, { 'idempotency-key': 'frozen' }));
      expect503(enqueue.value);
      expect(enqueue.elapsedMs).toBeLessThan(1_000);

      const ready = await timed(() => get(`${app.url}/readyz`));
      expect503(ready.value);
      expect(ready.elapsedMs).toBeLessThan(1_000);
    } finally {
      redisServer.process.kill('SIGCONT');
    }
  });
});

describe('when Redis comes back', () => {
  it('turns /readyz from 503 to 200 and accepts jobs again, without restarting the app', async () => {
    const { port } = redisServer;
    await redisServer.stop();
    await waitFor(() => !isRedisReady(app.redis), { what: 'the client to notice the outage' });
    expect503(await get(`${app.url}/readyz`));

    redisServer = await startRedisServer({ port });
    const ready = await waitFor(
      async () => {
        const res = await get(`${app.url}/readyz`);
        return res.status === 200 ? res : undefined;
      },
      { what: '/readyz to answer 200', timeoutMs: 10_000 },
    );
    expect(ready.json).toEqual({ status: 'ok' });
    expect((await post(`${app.url}/v1/jobs/email.send`, { data: email })).status).toBe(201);
  });
});

describe('through an outage longer than 10 s', () => {
  it('answers every request with 503 within a second the whole time, then 201 again without a restart', async () => {
    const { port } = redisServer;
    await redisServer.stop();
    const downSinceMs = Date.now();
    const answers: { status: number; code: unknown; elapsedMs: number }[] = [];
    // Spans several reconnect attempts (capped at 2 s for the fail-fast client).
    await waitFor(
      async () => {
        const { value, elapsedMs } = await timed(() => post(`${app.url}/v1/jobs/email.send`, { data: email }));
        answers.push({ status: value.status, code: value.json?.error?.code, elapsedMs });
        return Date.now() - downSinceMs >= 11_000;
      },
      { what: 'an 11 s outage', timeoutMs: 15_000, intervalMs: 200 },
    );
    expect(answers.length).toBeGreaterThan(20);
    expect(answers.filter((a) => a.status !== 503 || a.code !== 'redis_unavailable' || a.elapsedMs >= 1_000)).toEqual([]);

    redisServer = await startRedisServer({ port });
    const backMs = Date.now();
    await waitFor(async () => (await post(`${app.url}/v1/jobs/email.send`, { data: email })).status === 201, {
      what: 'an enqueue to succeed again',
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    expect(Date.now() - backMs).toBeLessThan(5_000);
  });
});
