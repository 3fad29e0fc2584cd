import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { send, startTestServer, type TestServer } from '../testing/test-server.ts';
import { requiredScope } from './authenticate.ts';

const hook = { url: 'https://example.com/hooks/conveyor', event: 'invoice.paid', payload: { invoiceId: 'inv_42' } };
const keys = {
  reader: 'reader-key-3f9a1c7e5b2d4f60',
  enqueuer: 'enqueuer-key-8c1e4b7a9d3f2e50',
  ci: 'ci-key-5e7d9b1c3a2f4e6d',
  admin: 'admin-key-1a2b3c4d5e6f7a8b',
};
const sha256 = (secret: string) => `sha256:${createHash('sha256').update(secret).digest('hex')}`;

let app: TestServer;

beforeAll(async () => {
  app = await startTestServer({
    redisUrl: inject('redisUrl'),
    // The enqueuer and ci keys are given as hashes, the others in plain text.
    apiKeys: [
      `reader=${keys.reader}:read`,
      `enqueuer=${sha256(keys.enqueuer)}:enqueue`,
      `ci=${sha256(keys.ci)}:enqueue+read`,
      `ops=${keys.admin}:admin`,
    ].join(', '),
  });
});

afterAll(async () => {
  await app?.close();
});

const enqueue = (key?: string) => send('POST', `${app.url}/v1/jobs/webhook.deliver`, { body: { data: hook }, ...(key ? { key } : {}) });

/** A waiting job to read or cancel. */
async function aJob(): Promise<string> {
  const res = await enqueue(keys.admin);
  expect(res.status).toBe(201);
  return res.json.id;
}

function expectUnauthorized(res: { status: number; headers: Headers; json: any }) {
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="conveyor"/);
  expect(res.json).toEqual({ error: { code: 'unauthorized', message: expect.any(String), details: {} } });
}

describe('requiredScope', () => {
  it('maps reads to read, POST to enqueue and every other method to admin', () => {
    expect(['GET', 'HEAD', 'get'].map(requiredScope)).toEqual(['read', 'read', 'read']);
    expect(requiredScope('POST')).toBe('enqueue');
    expect(['PUT', 'PATCH', 'DELETE', 'OPTIONS'].map(requiredScope)).toEqual(['admin', 'admin', 'admin', 'admin']);
  });
});

describe('with PRODUCER_API_KEYS set', () => {
  it('answers 401 unauthorized with WWW-Authenticate: Bearer when no key is sent, whatever the method', async () => {
    const id = await aJob();
    expectUnauthorized(await enqueue());
    expectUnauthorized(await send('GET', `${app.url}/v1/jobs/webhook.deliver/${id}`));
    expectUnauthorized(await send('DELETE', `${app.url}/v1/jobs/webhook.deliver/${id}`));
    expectUnauthorized(await send('PUT', `${app.url}/v1/schedules/nightly`, { body: { name: 'webhook.deliver', data: hook, cron: '0 3 * * *' } }));
    expectUnauthorized(await send('GET', `${app.url}/v1/topics`));
  });

  it('answers 401 for a wrong key, a key in another scheme, and a key hash sent as the key', async () => {
    for (const headers of [
      { authorization: 'Bearer not-a-configured-key-at-all' },
      { authorization: `Basic ${Buffer.from(`x:${keys.admin}`).toString('base64')}` },
      { authorization: keys.admin },
      { authorization: `Bearer ${sha256(keys.enqueuer)}` },
      { authorization: `Bearer ${keys.admin} extra` },
    ]) {
      const res = await send('POST', `${app.url}/v1/jobs/webhook.deliver`, { body: { data: hook }, headers });
      expectUnauthorized(res);
      expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    }
  });

  it('checks the key before anything else: an unknown route, a bad name or a malformed body is still 401', async () => {
    expectUnauthorized(await send('GET', `${app.url}/v1/no-such-route`));
    expectUnauthorized(await send('POST', `${app.url}/v1/jobs/no.such.kind`, { body: { data: {} } }));
    expectUnauthorized(await send('POST', `${app.url}/v1/jobs/webhook.deliver`, { body: '{"data": ' }));
  });

  it('answers 403 forbidden naming the scope when the key lacks it, for each method class', async () => {
    const id = await aJob();
    const cases = [
      { key: keys.reader, method: 'POST', path: '/v1/jobs/webhook.deliver', body: { data: hook }, keyId: 'reader', scope: 'enqueue' },
      { key: keys.enqueuer, method: 'GET', path: `/v1/jobs/webhook.deliver/${id}`, keyId: 'enqueuer', scope: 'read' },
      { key: keys.enqueuer, method: 'GET', path: '/v1/topics', keyId: 'enqueuer', scope: 'read' },
      { key: keys.ci, method: 'DELETE', path: `/v1/jobs/webhook.deliver/${id}`, keyId: 'ci', scope: 'admin' },
      { key: keys.reader, method: 'PUT', path: '/v1/schedules/nightly', body: { name: 'webhook.deliver', data: hook, cron: '0 3 * * *' }, keyId: 'reader', scope: 'admin' },
      { key: keys.ci, method: 'DELETE', path: '/v1/schedules/nightly', keyId: 'ci', scope: 'admin' },
    ];
    for (const { key, method, path, body, keyId, scope } of cases) {
      const res = await send(method, `${app.url}${path}`, { key, ...(body ? { body } : {}) });
      expect(res.status, `${keyId} ${method} ${path}`).toBe(403);
      expect(res.json).toEqual({
        error: { code: 'forbidden', message: expect.stringContaining(`"${scope}"`), details: { keyId, requiredScope: scope } },
      });
    }
    // The job is untouched by the refused DELETE.
    expect((await send('GET', `${app.url}/v1/jobs/webhook.deliver/${id}`, { key: keys.reader })).json.state).toBe('waiting');
  });

  it('lets a key do what its scopes allow: enqueue with a hashed key, read with a plain one', async () => {
    const created = await enqueue(keys.enqueuer);
    expect(created.status).toBe(201);
    const read = await send('GET', `${app.url}/v1/jobs/webhook.deliver/${created.json.id}`, { key: keys.reader });
    expect(read).toMatchObject({ status: 200, json: { id: created.json.id, state: 'waiting' } });
    expect((await send('GET', `${app.url}/v1/topics`, { key: keys.ci })).status).toBe(200);
    expect((await enqueue(keys.ci)).status).toBe(201);
  });

  it('lets an admin key do everything: enqueue, read, cancel, and manage schedules', async () => {
    const id = await aJob();
    expect((await send('GET', `${app.url}/v1/jobs/webhook.deliver/${id}`, { key: keys.admin })).status).toBe(200);
    expect((await send('GET', `${app.url}/v1/topics`, { key: keys.admin })).status).toBe(200);
    const cancelled = await send('DELETE', `${app.url}/v1/jobs/webhook.deliver/${id}`, { key: keys.admin });
    expect(cancelled).toMatchObject({ status: 200, json: { id, state: 'cancelled' } });
    const schedule = { name: 'webhook.deliver', data: hook, cron: '0 3 * * *' };
    expect((await send('PUT', `${app.url}/v1/schedules/auth-nightly`, { key: keys.admin, body: schedule })).status).toBe(201);
    expect((await send('GET', `${app.url}/v1/schedules/auth-nightly`, { key: keys.admin })).status).toBe(200);
    expect((await send('DELETE', `${app.url}/v1/schedules/auth-nightly`, { key: keys.admin })).status).toBe(204);
  });

  it('accepts the scheme in any case and surrounding blanks', async () => {
    const res = await send('POST', `${app.url}/v1/jobs/webhook.deliver`, { body: { data: hook }, headers: { authorization: `bearer   ${keys.enqueuer} ` } });
    expect(res.status).toBe(201);
  });

  it('leaves /healthz, /readyz, /metrics, /openapi.json and /docs open', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect((await send('GET', `${app.url}${path}`)).status, path).toBe(200);
    }
    for (const path of ['/openapi.json', '/docs']) {
      expect((await send('GET', `${app.url}${path}`)).status, path).not.toBe(401);
    }
  });
});

describe('without PRODUCER_API_KEYS', () => {
  it('lets every /v1 request through without a key', async () => {
    const open = await startTestServer({ redisUrl: inject('redisUrl') });
    try {
      const created = await send('POST', `${open.url}/v1/jobs/webhook.deliver`, { body: { data: hook } });
      expect(created.status).toBe(201);
      expect((await send('DELETE', `${open.url}/v1/jobs/webhook.deliver/${created.json.id}`)).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});
