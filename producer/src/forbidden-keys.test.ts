import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { forbiddenKeyIssues, MAX_BODY_DEPTH } from './forbidden-keys.ts';
import { send, startTestServer, type TestServer } from './testing/test-server.ts';
import { queuePrefix } from '@conveyor/shared';

const url = 'https://example.com/hooks/conveyor';

describe('forbiddenKeyIssues', () => {
  it('names __proto__, constructor and prototype keys at any depth, arrays included', () => {
    const body = JSON.parse(
      '{"__proto__": {"x": 1}, "data": {"payload": {"a": [{"constructor": {"prototype": {}}}], "b": {"prototype": 1}}}}',
    );
    expect(forbiddenKeyIssues(body).map((issue) => issue.path).sort()).toEqual(
      ['__proto__', 'data.payload.a.0.constructor', 'data.payload.b.prototype'].sort(),
    );
    expect(forbiddenKeyIssues(body)[0]).toMatchObject({ code: 'forbidden_key', message: expect.any(String) });
  });

  it('accepts those words as values, and ordinary bodies', () => {
    expect(forbiddenKeyIssues({ data: { event: '__proto__', payload: { kind: 'constructor', list: ['prototype'] } } })).toEqual([]);
    expect(forbiddenKeyIssues(undefined)).toEqual([]);
    expect(forbiddenKeyIssues([1, 'two', null])).toEqual([]);
  });

  it('walks very deep bodies without overflowing the stack, and caps the issues it reports', () => {
    const depth = 200_000;
    const deep = JSON.parse(`${'{"a":'.repeat(depth)}{"__proto__":1}${'}'.repeat(depth)}`);
    expect(forbiddenKeyIssues(deep)).toHaveLength(1);
    const many = JSON.parse(`[${Array.from({ length: 500 }, () => '{"__proto__": 1}').join(',')}]`);
    expect(forbiddenKeyIssues(many).length).toBeLessThanOrEqual(20);
  });
});

describe('JSON bodies with prototype-polluting keys', () => {
  let app: TestServer;
  let webhookQueue: Queue;

  beforeAll(async () => {
    app = await startTestServer({ redisUrl: inject('redisUrl') });
    webhookQueue = new Queue('webhook', { connection: app.redis, prefix: queuePrefix(app.prefix, 'webhook') });
    webhookQueue.on('error', () => {});
  });

  afterAll(async () => {
    await webhookQueue?.close();
    await app?.close();
  });

  const bodies = [
    { path: 'data.payload.__proto__', text: `{"data": {"url": "${url}", "event": "e", "payload": {"__proto__": {"polluted": "yes"}}}}` },
    { path: 'data.payload.constructor', text: `{"data": {"url": "${url}", "event": "e", "payload": {"constructor": {"prototype": {"polluted": "yes"}}}}}` },
    { path: '__proto__', text: `{"__proto__": {"polluted": "yes"}, "data": {"url": "${url}", "event": "e"}}` },
  ];

  it('answers 422 validation_failed naming the path, enqueues nothing, and leaves Object.prototype clean', async () => {
    for (const { path, text } of bodies) {
      const res = await send('POST', `${app.url}/v1/jobs/webhook.deliver`, { body: text });
      expect(res.status, path).toBe(422);
      expect(res.json.error.code).toBe('validation_failed');
      expect(res.json.error.details.issues).toContainEqual({ path, code: 'forbidden_key', message: expect.any(String) });
    }
    expect(await webhookQueue.count()).toBe(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('guards every JSON route: bulk, events and schedules', async () => {
    const payload = '{"__proto__": {"polluted": "yes"}}';
    const cases = [
      { method: 'POST', path: '/v1/jobs/webhook.deliver/bulk', text: `{"jobs": [{"data": {"url": "${url}", "event": "e"}}, {"data": {"url": "${url}", "event": "e", "payload": ${payload}}}]}`, at: 'jobs.1.data.payload.__proto__' },
      { method: 'POST', path: '/v1/jobs:bulk', text: `{"jobs": [{"name": "webhook.deliver", "data": {"url": "${url}", "event": "e", "payload": ${payload}}}]}`, at: 'jobs.0.data.payload.__proto__' },
      { method: 'POST', path: '/v1/events/user.signed_up', text: `{"data": ${payload}}`, at: 'data.__proto__' },
      { method: 'PUT', path: '/v1/schedules/polluter', text: `{"name": "webhook.deliver", "everyMs": 60000, "data": {"url": "${url}", "event": "e", "payload": ${payload}}}`, at: 'data.payload.__proto__' },
    ];
    for (const { method, path, text, at } of cases) {
      const res = await send(method, `${app.url}${path}`, { body: text });
      expect(res.status, `${method} ${path}`).toBe(422);
      expect(res.json.error.details.issues, `${method} ${path}`).toContainEqual({ path: at, code: 'forbidden_key', message: expect.any(String) });
    }
    expect(await webhookQueue.count()).toBe(0);
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('still accepts a payload that merely mentions those words as values', async () => {
    const res = await send('POST', `${app.url}/v1/jobs/webhook.deliver`, {
      body: { data: { url, event: 'constructor', payload: { note: '__proto__' } } },
    });
    expect(res.status).toBe(201);
  });
});

describe('body depth', () => {
  it(`refuses a body nested deeper than ${MAX_BODY_DEPTH} levels, naming where, and accepts ${MAX_BODY_DEPTH}`, () => {
    const nest = (levels: number) => {
      let value: unknown = 1;
      for (let i = 0; i < levels; i++) value = { a: value };
      return value;
    };
    expect(forbiddenKeyIssues(nest(MAX_BODY_DEPTH))).toEqual([]);
    const issues = forbiddenKeyIssues(nest(MAX_BODY_DEPTH + 1));
    expect(issues).toEqual([expect.objectContaining({ code: 'too_deep' })]);
    expect(issues[0]!.path.split('.')).toHaveLength(MAX_BODY_DEPTH);
    expect(forbiddenKeyIssues(nest(200_000))).toHaveLength(1);
  });
});
