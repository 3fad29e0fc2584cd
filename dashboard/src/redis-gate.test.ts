import { fileURLToPath } from 'node:url';
import { freePort, startApp, startRedisServer, testPrefix, type AppProcess, type RedisServerHandle } from '@conveyor/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';

const entry = fileURLToPath(new URL('./main.ts', import.meta.url));
const cwd = fileURLToPath(new URL('..', import.meta.url));
const LISTENING = /dashboard listening on (http:\/\/127\.0\.0\.1:\d+)/;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function evictingRedis(port?: number): Promise<RedisServerHandle> {
  const server = await startRedisServer({ extraArgs: ['--maxmemory-policy', 'volatile-lru'], ...(port ? { port } : {}) });
  cleanups.push(() => server.stop());
  return server;
}

function startDashboard(env: Record<string, string>): AppProcess {
  const app = startApp(entry, { HOST: '127.0.0.1', PORT: '0', CONVEYOR_PREFIX: testPrefix('gate'), ...env }, cwd);
  cleanups.push(() => app.stop('SIGKILL'));
  return app;
}

describe('the dashboard on a Redis that may evict jobs', () => {
  it('refuses to run: the reason on stderr, exit 2', async () => {
    const redis = await evictingRedis();
    const app = startDashboard({ REDIS_URL: redis.url });
    expect(await app.exited).toEqual({ code: 2, signal: null });
    expect(app.output()).toMatch(/dashboard: Refusing to start: Redis maxmemory-policy is "volatile-lru".*REDIS_ALLOW_EVICTION=true/);
  });

  it('refuses once Redis comes up, when it started before Redis', async () => {
    const port = await freePort();
    const app = startDashboard({ REDIS_URL: `redis://127.0.0.1:${port}` });
    await app.waitForOutput(LISTENING);
    await evictingRedis(port);
    expect(await app.exited).toEqual({ code: 2, signal: null });
    expect(app.output()).toContain('Refusing to start: Redis maxmemory-policy is "volatile-lru"');
  });

  it('runs with a warning when REDIS_ALLOW_EVICTION=true', async () => {
    const redis = await evictingRedis();
    const app = startDashboard({ REDIS_URL: redis.url, REDIS_ALLOW_EVICTION: 'true' });
    const url = LISTENING.exec(await app.waitForOutput(LISTENING))![1]!;
    await app.waitForOutput(/allowed by REDIS_ALLOW_EVICTION=true/);
    expect((await fetch(`${url}/api/queues`)).status).toBe(200);
    expect(await app.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});
