import { freePort, startApp, startRedisServer, testPrefix, waitFor, type AppProcess, type RedisServerHandle } from '@conveyor/shared/testing';
import { Redis } from 'ioredis';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { basic } from './access-fixture.ts';
import { hashPassword } from './access/password-hash.ts';

const entry = fileURLToPath(new URL('./main.ts', import.meta.url));
const cwd = fileURLToPath(new URL('..', import.meta.url));
const listening = /dashboard listening on http:\/\/127\.0\.0\.1:(\d+)/;

describe('dashboard main.ts as a process', () => {
  let app: AppProcess | undefined;
  let redisServer: RedisServerHandle | undefined;

  afterEach(async () => {
    await app?.stop('SIGKILL');
    await redisServer?.stop();
    app = undefined;
    redisServer = undefined;
  });

  async function urlOf(process: AppProcess): Promise<string> {
    const line = await process.waitForOutput(listening);
    return `http://127.0.0.1:${listening.exec(line)![1]}`;
  }

  it('prints where it listens, serves, names its Redis connection, and exits 0 on SIGTERM', async () => {
    const redisUrl = inject('redisUrl');
    app = startApp(entry, { REDIS_URL: redisUrl, CONVEYOR_PREFIX: testPrefix('main'), HOST: '127.0.0.1', PORT: '0' }, cwd);
    const url = await urlOf(app);

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const queues = await fetch(`${url}/api/queues`);
    expect(queues.status).toBe(200);
    const body = (await queues.json()) as { queues: { name: string }[] };
    expect(body.queues.map((q) => q.name)).toEqual(['email', 'webhook', 'report']);

    const admin = new Redis(redisUrl);
    try {
      expect(await admin.client('LIST')).toContain('name=conveyor:dashboard ');
    } finally {
      admin.disconnect();
    }

    expect(await app.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(app.output()).toContain('shut down cleanly');
  });

  it('starts and answers 503 while Redis is down, serves once Redis appears, and exits 0 on SIGTERM', async () => {
    const deadPort = await freePort();
    app = startApp(entry, { REDIS_URL: `redis://127.0.0.1:${deadPort}`, HOST: '127.0.0.1', PORT: '0' }, cwd);
    const url = await urlOf(app);

    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const started = performance.now();
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(((await ready.json()) as { error: { code: string } }).error.code).toBe('redis_unavailable');
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(503);
    expect(await page.text()).toContain('Redis unreachable');

    redisServer = await startRedisServer({ port: deadPort });
    await waitFor(async () => (await fetch(`${url}/api/queues`)).status === 200, {
      what: 'the dashboard to connect to the Redis that appeared',
      timeoutMs: 15_000,
    });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    expect(await app.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('refuses to start with a bad PORT, naming it, with a non-zero exit', async () => {
    app = startApp(entry, { PORT: 'abc', DASHBOARD_REFRESH_MS: '10' }, cwd);
    const { code } = await app.exited;
    expect(code).toBe(2);
    expect(app.output()).toMatch(/PORT: .*"abc"/);
    expect(app.output()).toMatch(/DASHBOARD_REFRESH_MS: /);
    expect(app.output()).not.toContain('listening');
  });

  it('binds loopback only, with a warning, when HOST is public and no users are configured', async () => {
    app = startApp(entry, { REDIS_URL: inject('redisUrl'), CONVEYOR_PREFIX: testPrefix('main'), HOST: '0.0.0.0', PORT: '0' }, cwd);
    const url = await urlOf(app);
    expect(app.output()).toContain('DASHBOARD_USERS is not set, so the dashboard listens on 127.0.0.1 instead of HOST=0.0.0.0');
    const page = await (await fetch(`${url}/`)).text();
    expect(page).toContain('No users configured: anyone on this machine has operator access');
    expect(await app.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('requires sign-in when DASHBOARD_USERS is set, and never prints the hash', async () => {
    const hash = await hashPassword('main-test-password', { N: 1_024 });
    app = startApp(entry, {
      REDIS_URL: inject('redisUrl'), CONVEYOR_PREFIX: testPrefix('main'), HOST: '127.0.0.1', PORT: '0',
      DASHBOARD_USERS: `ada:operator:${hash}`, DASHBOARD_SESSION_SECRET: 'main-test-secret-of-at-least-32-characters',
    }, cwd);
    const url = await urlOf(app);
    expect((await fetch(`${url}/api/queues`)).status).toBe(401);
    expect((await fetch(`${url}/api/queues`, { headers: { authorization: basic('ada', 'main-test-password') } })).status).toBe(200);
    expect(await app.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(app.output()).not.toContain(hash.split('$')[5]!);
  });
});
