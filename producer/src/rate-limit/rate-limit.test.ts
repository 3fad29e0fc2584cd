import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { freePort, testPrefix, waitFor } from '@conveyor/shared/testing';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { errorHandler } from '../http-error.ts';
import { send, silentLogger, startTestServer, type TestServer } from '../testing/test-server.ts';
import { chargeRateLimit, rateLimit } from './rate-limit.ts';
import { createTokenBucket, rateLimitKey } from './token-bucket.ts';

const keys = { ci: 'ci-key-5e7d9b1c3a2f4e6d', web: 'web-key-0b9c8d7e6f5a4b3c' };
const apiKeys = `ci=${keys.ci}:read, web=${keys.web}:read`;

const servers: TestServer[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function server(options: Partial<Parameters<typeof startTestServer>[0]> = {}): Promise<TestServer> {
  const started = await startTestServer({ redisUrl: inject('redisUrl'), ...options });
  servers.push(started);
  return started;
}

const topics = (app: TestServer, key?: string) => send('GET', `${app.url}/v1/topics`, key ? { key } : {});

/** Sends requests until one is refused; returns how many passed and the refusal. */
async function drain(request: () => ReturnType<typeof send>, most: number) {
  for (let passed = 0; passed < most; passed++) {
    const res = await request();
    if (res.status === 429) return { passed, refused: res };
    expect(res.status).toBe(200);
  }
  throw new Error(`no 429 after ${most} requests`);
}

describe('the rate limit', () => {
  it('answers 429 rate_limited with Retry-After once the burst is spent, and lets requests through again after the refill', async () => {
    const app = await server({ apiKeys, rateLimit: { perSec: 2, burst: 3 } });
    const first = await topics(app, keys.ci);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-limit')).toBe('3');
    expect(first.headers.get('ratelimit-remaining')).toBe('2');
    expect(Number(first.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(1);

    const { passed, refused } = await drain(() => topics(app, keys.ci), 10);
    // 2 tokens left after the first request, plus at most one refilled meanwhile (2 a second).
    expect(passed).toBeGreaterThanOrEqual(2);
    expect(passed).toBeLessThanOrEqual(3);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    expect(refused.json).toEqual({
      error: { code: 'rate_limited', message: expect.any(String), details: { retryAfterSec: 1, limit: 3 } },
    });

    await waitFor(async () => (await topics(app, keys.ci)).status === 200, { timeoutMs: 3_000, intervalMs: 100, what: 'a token to refill' });
  });

  it('keeps one bucket per API key', async () => {
    const app = await server({ apiKeys, rateLimit: { perSec: 0.1, burst: 2 } });
    await drain(() => topics(app, keys.ci), 5);
    expect((await topics(app, keys.web)).status).toBe(200);
    expect((await topics(app, keys.ci)).status).toBe(429);
  });

  it('holds across two producer instances sharing one Redis', async () => {
    const a = await server({ apiKeys, rateLimit: { perSec: 0.1, burst: 4 } });
    const b = await server({ apiKeys, rateLimit: { perSec: 0.1, burst: 4 }, prefix: a.prefix });
    for (const app of [a, b, a, b]) expect((await topics(app, keys.ci)).status).toBe(200);
    const refusedByA = await topics(a, keys.ci);
    const refusedByB = await topics(b, keys.ci);
    expect([refusedByA.status, refusedByB.status]).toEqual([429, 429]);
    // 0.1 tokens a second: a whole token is 10 s away.
    expect(Number(refusedByB.headers.get('retry-after'))).toBeGreaterThanOrEqual(9);
  });

  it('keeps the bucket under CONVEYOR_PREFIX with a TTL, per client IP when no keys are configured', async () => {
    const app = await server({ rateLimit: { perSec: 1, burst: 5 } });
    expect((await topics(app)).status).toBe(200);
    const bucketKeys = await app.redis.keys(`${app.prefix}:~conveyor:rate-limit:*`);
    expect(bucketKeys).toHaveLength(1);
    expect(bucketKeys[0]).toMatch(new RegExp(`^${app.prefix}:~conveyor:rate-limit:ip:.*127\\.0\\.0\\.1$`));
    const ttlMs = await app.redis.pttl(bucketKeys[0]!);
    // Refilling one token at 1 a second takes 1 s; the key lives that long plus 1 s.
    expect(ttlMs).toBeGreaterThan(0);
    expect(ttlMs).toBeLessThanOrEqual(2_000);
  });

  it('answers 503 redis_unavailable, not 500, when Redis is down', async () => {
    const app = await server({
      redisUrl: `redis://127.0.0.1:${await freePort()}`,
      waitForRedis: false,
      apiKeys,
      rateLimit: { perSec: 10, burst: 10 },
    });
    // GET /v1/topics needs no Redis itself: the 503 is the limiter's.
    const res = await topics(app, keys.ci);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.json.error.code).toBe('redis_unavailable');
    expect((await send('GET', `${app.url}/healthz`)).status).toBe(200);
  });

  it('sends no RateLimit headers when no limit is configured', async () => {
    const app = await server({ apiKeys });
    const res = await topics(app, keys.ci);
    expect(res.status).toBe(200);
    expect(res.headers.get('ratelimit-limit')).toBeNull();
  });
});

describe('bulk requests under the limit', () => {
  const email = (n: number) => ({ data: { to: `user${n}@example.com`, subject: 'Hi', body: 'Hello' } });
  const bad = { data: { to: 'not-an-email', subject: 'Hi', body: 'Hello' } };

  it('charges only the jobs a bulk enqueues: a 422 leaves the job tokens untouched', async () => {
    // 0.1 tokens a second: no whole token refills while the test runs.
    const app = await server({ rateLimit: { perSec: 0.1, burst: 10 } });
    const bulk = (jobs: unknown[], query = '') => send('POST', `${app.url}/v1/jobs/email.send/bulk${query}`, { body: { jobs } });

    const refused = await bulk([email(1), email(2), email(3), email(4), email(5), bad]);
    expect(refused.status).toBe(422);
    // Only the request's entry token went, not one per item.
    expect(refused.headers.get('ratelimit-remaining')).toBe('9');

    // Partial: two of three enqueued, two tokens (the entry one and one more).
    const partial = await bulk([email(6), bad, email(7)], '?partial=true');
    expect(partial.status).toBe(207);
    expect(partial.headers.get('ratelimit-remaining')).toBe('7');

    // The 7 left pay for a bulk of 7 jobs, which the refused request would have made a 429.
    const full = await bulk([8, 9, 10, 11, 12, 13, 14].map(email));
    expect(full.status).toBe(201);
    expect(full.headers.get('ratelimit-remaining')).toBe('0');
    expect((await bulk([email(15)])).status).toBe(429);
  });
});

describe('chargeRateLimit', () => {
  it('lets a bulk route charge one token per job beyond the first', async () => {
    const redis = (await server()).redis;
    const bucket = createTokenBucket({ redis, prefix: testPrefix('bulk'), perSec: 0.1, burst: 10 });
    const app = express();
    app.use(rateLimit(bucket));
    app.post('/bulk/:count', async (req, res) => {
      await chargeRateLimit(res, Number(req.params.count) - 1);
      res.json({ ok: true });
    });
    app.use(errorHandler(silentLogger));
    const http = createServer(app);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => http.close(() => resolve())));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

    expect((await send('POST', `${url}/bulk/6`)).status).toBe(200);
    const refused = await send('POST', `${url}/bulk/5`);
    expect(refused.status).toBe(429);
    expect(refused.json.error.code).toBe('rate_limited');
    expect((await send('POST', `${url}/bulk/1`)).status).toBe(200);
  });

  it('charges at most a full bucket for a request larger than the burst', async () => {
    const app = await server();
    const bucket = createTokenBucket({ redis: app.redis, prefix: app.prefix, perSec: 0.1, burst: 3 });
    expect(await bucket.take('key:big', 50)).toMatchObject({ allowed: true, remaining: 0 });
    const refused = await bucket.take('key:big', 1);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(9_000);
    expect(await app.redis.exists(rateLimitKey(app.prefix, 'key:big'))).toBe(1);
  });
});
