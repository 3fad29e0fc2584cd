import { fileURLToPath } from 'node:url';
import { freePort, startApp, TEST_PAYLOAD_KEYS, testPrefix, type AppProcess } from '@conveyor/shared/testing';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { get, post } from './testing/test-server.ts';

const entry = fileURLToPath(new URL('./main.ts', import.meta.url));
const email = { to: 'ada@example.com', subject: 'Welcome', body: 'Hello Ada!' };
const LISTENING = /producer listening on (http:\/\/127\.0\.0\.1:\d+)/;

let app: AppProcess | undefined;

afterEach(async () => {
  await app?.stop('SIGKILL');
  app = undefined;
});

async function startProducer(env: Record<string, string>): Promise<{ process: AppProcess; url: string }> {
  app = startApp(entry, { HOST: '127.0.0.1', PORT: '0', CONVEYOR_PREFIX: testPrefix('main'), PAYLOAD_ENCRYPTION_KEYS: TEST_PAYLOAD_KEYS, ...env });
  const line = await app.waitForOutput(LISTENING);
  return { process: app, url: LISTENING.exec(line)![1]! };
}

describe('producer main.ts', () => {
  it('prints its URL, answers HTTP, and exits 0 on SIGTERM', async () => {
    const { process, url } = await startProducer({ REDIS_URL: inject('redisUrl') });
    expect(await get(`${url}/healthz`)).toMatchObject({ status: 200, json: { status: 'ok' } });
    expect(await post(`${url}/v1/jobs/email.send`, { data: email })).toMatchObject({ status: 201 });
    expect(await process.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(process.output()).toContain('shut down cleanly');
  });

  it('starts while Redis is down: /healthz 200, jobs 503 within a second, and still exits 0', async () => {
    const { process, url } = await startProducer({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    expect(await get(`${url}/healthz`)).toMatchObject({ status: 200 });
    const started = performance.now();
    const res = await post(`${url}/v1/jobs/email.send`, { data: email });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(performance.now() - started).toBeLessThan(1_000);
    expect((await get(`${url}/readyz`)).status).toBe(503);
    expect(await process.stop('SIGTERM', 5_000)).toEqual({ code: 0, signal: null });
  });

  it('refuses a bad environment: exits non-zero naming the variable', async () => {
    app = startApp(entry, { PORT: 'abc', REDIS_URL: inject('redisUrl') });
    const { code } = await app.exited;
    expect(code).toBe(2);
    expect(app.output()).toContain('PORT');
    expect(app.output()).not.toContain('producer listening');
  });
});
