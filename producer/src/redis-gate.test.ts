import { fileURLToPath } from 'node:url';
import { freePort, startApp, startRedisServer, TEST_PAYLOAD_KEYS, testPrefix, type AppProcess, type RedisServerHandle } from '@conveyor/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { post } from './testing/test-server.ts';

const entry = fileURLToPath(new URL('./main.ts', import.meta.url));
const email = { to: 'ada@example.com', subject: 'Welcome', body: 'Hello Ada!' };
const LISTENING = /producer listening on (http:\/\/127\.0\.0\.1:\d+)/;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function evictingRedis(port?: number): Promise<RedisServerHandle> {
  const server = await startRedisServer({ extraArgs: ['--maxmemory-policy', 'allkeys-lru'], ...(port ? { port } : {}) });
  cleanups.push(() => server.stop());
  return server;
}

function startProducer(env: Record<string, string>): AppProcess {
  const app = startApp(entry, { HOST: '127.0.0.1', PORT: '0', CONVEYOR_PREFIX: testPrefix('gate'), PAYLOAD_ENCRYPTION_KEYS: TEST_PAYLOAD_KEYS, ...env });
  cleanups.push(() => app.stop('SIGKILL'));
  return app;
}

describe('the producer on a Redis that may evict jobs', () => {
  it('refuses to run: the reason on stderr, exit 2', async () => {
    const redis = await evictingRedis();
    const app = startProducer({ REDIS_URL: redis.url });
    expect(await app.exited).toEqual({ code: 2, signal: null });
    expect(app.output()).toMatch(/producer: Refusing to start: Redis maxmemory-policy is "allkeys-lru".*REDIS_ALLOW_EVICTION=true/);
  });

  it('refuses once Redis comes up, when it started before Redis', async () => {
    const port = await freePort();
    const app = startProducer({ REDIS_URL: `redis://127.0.0.1:${port}` });
    await app.waitForOutput(LISTENING);
    await evictingRedis(port);
    expect(await app.exited).toEqual({ code: 2, signal: null });
    expect(app.output()).toContain('Refusing to start: Redis maxmemory-policy is "allkeys-lru"');
  });

  it('runs with a warning when REDIS_ALLOW_EVICTION=true', async () => {
    const redis = await evictingRedis();
    const app = startProducer({ REDIS_URL: redis.url, REDIS_ALLOW_EVICTION: 'true' });
    const url = LISTENING.exec(await app.waitForOutput(LISTENING))![1]!;
    await app.waitForOutput(/allowed by REDIS_ALLOW_EVICTION=true/);
    expect((await post(`${url}/v1/jobs/email.send`, { data: email })).status).toBe(201);
    expect(await app.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});
