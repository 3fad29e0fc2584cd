/** main.ts with and without PRODUCER_API_KEYS: where it binds, what it warns, that keys and the rate limit are enforced. */
import { fileURLToPath } from 'node:url';
import { startApp, TEST_PAYLOAD_KEYS, testPrefix, waitFor, type AppProcess } from '@conveyor/shared/testing';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { send } from './testing/test-server.ts';

const entry = fileURLToPath(new URL('./main.ts', import.meta.url));
const LISTENING = /producer listening on (http:\/\/[^\s"]+)/;
const key = 'main-test-key-7f3e9a1b5c2d';
// The catalog has sensitive fields, and the producer refuses to start without a key to seal them.
const PAYLOAD_ENCRYPTION_KEYS = TEST_PAYLOAD_KEYS;

let app: AppProcess | undefined;

afterEach(async () => {
  await app?.stop('SIGKILL');
  app = undefined;
});

async function startProducer(env: Record<string, string>): Promise<string> {
  app = startApp(entry, { PORT: '0', CONVEYOR_PREFIX: testPrefix('main'), REDIS_URL: inject('redisUrl'), PAYLOAD_ENCRYPTION_KEYS, ...env });
  const url = LISTENING.exec(await app.waitForOutput(LISTENING))![1]!;
  // It listens before its Redis connection is ready (and answers 503 until then): wait for ready.
  const local = url.replace('0.0.0.0', '127.0.0.1');
  await waitFor(async () => (await send('GET', `${local}/readyz`)).status === 200, { what: 'the producer to be ready' });
  return url;
}

describe('producer main.ts and API keys', () => {
  it('without keys, binds 127.0.0.1 instead of HOST=0.0.0.0 and warns at start', async () => {
    const url = await startProducer({ HOST: '0.0.0.0' });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(app!.output()).toMatch(/"level":"warn".*PRODUCER_API_KEYS is not set, so the producer listens on 127\.0\.0\.1 instead of HOST=0\.0\.0\.0/);
    expect((await send('GET', `${url}/v1/topics`)).status).toBe(200);
  });

  it('with keys, binds HOST, refuses /v1 without a key, and never prints the key', async () => {
    const url = await startProducer({ HOST: '0.0.0.0', PRODUCER_API_KEYS: `ci=${key}:read` });
    expect(url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    const local = url.replace('0.0.0.0', '127.0.0.1');
    expect((await send('GET', `${local}/v1/topics`)).status).toBe(401);
    expect((await send('GET', `${local}/v1/topics`, { key })).status).toBe(200);
    expect((await send('GET', `${local}/healthz`)).status).toBe(200);
    expect(app!.output()).not.toContain('PRODUCER_API_KEYS is not set');
    expect(app!.output()).not.toContain(key);
  });

  it('wires PRODUCER_RATE_LIMIT_PER_SEC and _BURST: 429 with Retry-After once the burst is spent', async () => {
    const url = await startProducer({ HOST: '127.0.0.1', PRODUCER_API_KEYS: `ci=${key}:read`, PRODUCER_RATE_LIMIT_PER_SEC: '0.1', PRODUCER_RATE_LIMIT_BURST: '2' });
    expect((await send('GET', `${url}/v1/topics`, { key })).status).toBe(200);
    expect((await send('GET', `${url}/v1/topics`, { key })).status).toBe(200);
    const refused = await send('GET', `${url}/v1/topics`, { key });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(9);
  });

  it('refuses a bad PRODUCER_API_KEYS: exits 2 naming the variable, without echoing it', async () => {
    app = startApp(entry, { REDIS_URL: inject('redisUrl'), PAYLOAD_ENCRYPTION_KEYS, PRODUCER_API_KEYS: 'ci=tooshortsecret:read' });
    expect((await app.exited).code).toBe(2);
    expect(app.output()).toContain('PRODUCER_API_KEYS');
    expect(app.output()).toContain('at least 16 characters');
    expect(app.output()).not.toContain('tooshortsecret');
  });
});
