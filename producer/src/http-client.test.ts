import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jobKinds, topics } from '@conveyor/shared';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConveyorHttpError, createHttpClient, type HttpClient } from './http-client.ts';
import { openApiDocument } from './openapi/openapi-document.ts';
import { documentSchemas } from './testing/openapi-schemas.ts';
import { startTestServer, type TestServer } from './testing/test-server.ts';

const email = jobKinds['email.send'].example;
const report = jobKinds['report.generate'].example;
const signedUp = topics['user.signed_up'].example;
const SECRET = 'http-client-test-secret-0123456789';
const READ_ONLY_SECRET = 'http-client-test-reader-0123456789';

let server: TestServer;
let client: HttpClient;
const schemas = documentSchemas(openApiDocument());

/** Fails when an answer does not match the schema the OpenAPI document gives for it. */
function expectDocumented(method: string, path: string, status: number, body: unknown) {
  expect(schemas.errors(schemas.responseSchema(method, path, status), body), `${method} ${path} ${status}`).toEqual([]);
}

async function rejection(promise: Promise<unknown>): Promise<ConveyorHttpError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ConveyorHttpError);
  return error as ConveyorHttpError;
}

beforeAll(async () => {
  server = await startTestServer({ redisUrl: inject('redisUrl') });
  client = createHttpClient({ baseUrl: `${server.url}/` });
});

afterAll(async () => {
  await server?.close();
});

describe('createHttpClient', () => {
  it('imports nothing but types, so a service gets no express, BullMQ or Redis client with it', () => {
    const source = readFileSync(new URL('./http-client.ts', import.meta.url), 'utf8');
    const imports = [...source.matchAll(/^(?:import|export)\s[^;]*?from\s+'[^']+';/gms)].map((match) => match[0]);
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.filter((statement) => !/^(import|export) type\s/.test(statement))).toEqual([]);
  });

  it('enqueue: 201 with created true, the Idempotency-Key header makes a repeat return the same job', async () => {
    const first = await client.enqueue('email.send', email, { idempotencyKey: 'order-1', delayMs: 60_000 });
    expect(first).toEqual({ id: expect.any(String), name: 'email.send', queue: 'email', created: true });
    const again = await client.enqueue('email.send', email, { idempotencyKey: 'order-1', delayMs: 60_000 });
    expect(again).toEqual({ ...first, created: false });
  });

  it('enqueue: a dedup hit answers the pending job with deduplicated', async () => {
    const first = await client.enqueue('report.generate', { ...report, reportId: 'http-client-dedup' }, { delayMs: 60_000 });
    const hit = await client.enqueue('report.generate', { ...report, reportId: 'http-client-dedup' });
    expect(hit).toMatchObject({ id: first.id, created: false, deduplicated: true });
  });

  it('enqueue: a refused payload throws ConveyorHttpError 422 with every issue', async () => {
    const error = await rejection(client.enqueue('email.send', { ...email, to: 'not-an-email' }, { priority: -1 }));
    expect(error).toMatchObject({ status: 422, code: 'validation_failed' });
    const paths = (error.details.issues as { path: string }[]).map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['data.to', 'priority']));
  });

  it('enqueue: an unknown kind throws 404 unknown_job', async () => {
    const error = await rejection(client.enqueue('email.nope' as 'email.send', email));
    expect(error).toMatchObject({ status: 404, code: 'unknown_job' });
  });

  it('enqueueBulk: all or nothing, or partial with the refused items listed', async () => {
    const all = await client.enqueueBulk('email.send', [{ data: email }, { data: email, delayMs: 1_000 }]);
    expectDocumented('post', '/v1/jobs/{name}/bulk', 201, all);
    expect(all.jobs.map((job) => job.index)).toEqual([0, 1]);
    expect(all.rejected).toEqual([]);

    const bad = [{ data: email }, { data: { ...email, to: 'nope' } }];
    expect(await rejection(client.enqueueBulk('email.send', bad))).toMatchObject({ status: 422, code: 'validation_failed' });
    const partial = await client.enqueueBulk('email.send', bad, { partial: true });
    expectDocumented('post', '/v1/jobs/{name}/bulk', 207, partial);
    expect(partial.jobs.map((job) => job.index)).toEqual([0]);
    expect(partial.rejected.map((item) => item.index)).toEqual([1]);
  });

  it('enqueueMixed: jobs of several kinds in one request', async () => {
    const mixed = await client.enqueueMixed([
      { name: 'email.send', data: email },
      { name: 'report.generate', data: { ...report, reportId: 'http-client-mixed' }, idempotencyKey: 'http-client-mixed-1' },
    ]);
    expectDocumented('post', '/v1/jobs:bulk', 201, mixed);
    expect(mixed.jobs.map((job) => job.name)).toEqual(['email.send', 'report.generate']);
  });

  it('getJob: the status of a job, undefined for an unknown id', async () => {
    const { id } = await client.enqueue('email.send', email, { delayMs: 60_000 });
    const status = await client.getJob('email.send', id);
    expectDocumented('get', '/v1/jobs/{name}/{id}', 200, status);
    // Only `to`: sensitive fields (the body) are shown masked.
    expect(status).toMatchObject({ id, name: 'email.send', state: 'delayed', data: { to: email.to } });
    expect(await client.getJob('email.send', 'no-such-job')).toBeUndefined();
  });

  it('cancel: removes a job that has not started; a second cancel throws 404', async () => {
    const { id } = await client.enqueue('email.send', email, { delayMs: 60_000 });
    const cancelled = await client.cancel('email.send', id);
    expectDocumented('delete', '/v1/jobs/{name}/{id}', 200, cancelled);
    expect(cancelled).toMatchObject({ id, state: 'cancelled', previousState: 'delayed' });
    expect(await rejection(client.cancel('email.send', id))).toMatchObject({ status: 404, code: 'job_not_found' });
  });

  it('publish: one job per subscriber; the same event id again creates nothing', async () => {
    const first = await client.publish('user.signed_up', signedUp, { eventId: 'http-client-evt-1' });
    expectDocumented('post', '/v1/events/{topic}', 201, first);
    expect(first).toMatchObject({ topic: 'user.signed_up', eventId: 'http-client-evt-1', created: true });
    expect(first.jobs.map((job) => job.name)).toEqual(topics['user.signed_up'].subscribers.map((subscriber) => subscriber.kind.name));
    const again = await client.publish('user.signed_up', signedUp, { eventId: 'http-client-evt-1' });
    expect(again.created).toBe(false);
  });

  it('listTopics: every catalog topic with its subscribers', async () => {
    const list = await client.listTopics();
    expectDocumented('get', '/v1/topics', 200, { topics: list });
    expect(list.map((topic) => topic.name)).toEqual(Object.keys(topics));
  });

  it('upsertSchedule, getSchedule, listSchedules, deleteSchedule: the whole life of a schedule', async () => {
    const made = await client.upsertSchedule('http-client-every', { name: 'email.send', data: email, everyMs: 60_000 });
    expectDocumented('put', '/v1/schedules/{id}', 201, made.schedule);
    expect(made).toMatchObject({ created: true, schedule: { id: 'http-client-every', name: 'email.send', everyMs: 60_000, source: 'api' } });

    const changed = await client.upsertSchedule('http-client-every', { name: 'email.send', data: email, cron: '0 3 * * *', tz: 'Europe/Paris' });
    expect(changed).toMatchObject({ created: false, schedule: { cron: '0 3 * * *', tz: 'Europe/Paris' } });

    const one = await client.getSchedule('http-client-every');
    expectDocumented('get', '/v1/schedules/{id}', 200, one);
    expect(one.cron).toBe('0 3 * * *');
    const all = await client.listSchedules();
    expectDocumented('get', '/v1/schedules', 200, { schedules: all });
    expect(all.map((schedule) => schedule.id)).toContain('http-client-every');

    await client.deleteSchedule('http-client-every');
    expect(await rejection(client.getSchedule('http-client-every'))).toMatchObject({ status: 404, code: 'schedule_not_found' });
    expect(await rejection(client.deleteSchedule('http-client-every'))).toMatchObject({ status: 404, code: 'schedule_not_found' });
  });
});

describe('createHttpClient against a guarded producer', () => {
  let guarded: TestServer;

  beforeAll(async () => {
    guarded = await startTestServer({
      redisUrl: inject('redisUrl'),
      apiKeys: `writer=${SECRET}:enqueue+read, reader=${READ_ONLY_SECRET}:read`,
      rateLimit: { perSec: 0.01, burst: 3 },
    });
  });

  afterAll(async () => {
    await guarded?.close();
  });

  it('sends the API key as a bearer token; without one it throws 401, with too few scopes 403', async () => {
    const writer = createHttpClient({ baseUrl: guarded.url, apiKey: SECRET });
    expect((await writer.enqueue('email.send', email)).created).toBe(true);
    expect(await rejection(createHttpClient({ baseUrl: guarded.url }).listTopics())).toMatchObject({ status: 401, code: 'unauthorized' });
    const reader = createHttpClient({ baseUrl: guarded.url, apiKey: READ_ONLY_SECRET });
    expect(await rejection(reader.enqueue('email.send', email))).toMatchObject({ status: 403, code: 'forbidden' });
  });

  it('throws 429 rate_limited with retryAfterSec once the bucket is empty', async () => {
    const writer = createHttpClient({ baseUrl: guarded.url, apiKey: SECRET });
    let limited: ConveyorHttpError | undefined;
    for (let i = 0; i < 5 && !limited; i++) {
      limited = await writer.listTopics().then(
        () => undefined,
        (error: ConveyorHttpError) => error,
      );
    }
    expect(limited).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(limited!.retryAfterSec).toBeGreaterThanOrEqual(1);
  });
});

describe('createHttpClient when no good answer comes', () => {
  let silent: Server;
  let silentUrl: string;

  beforeAll(async () => {
    // Accepts connections and never answers.
    silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    silent.closeAllConnections();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('throws 503 redis_unavailable with retryAfterSec when the producer has no Redis', async () => {
    const down = await startTestServer({ redisUrl: 'redis://127.0.0.1:1', waitForRedis: false, commandTimeoutMs: 200 });
    try {
      const error = await rejection(createHttpClient({ baseUrl: down.url }).enqueue('email.send', email));
      expect(error).toMatchObject({ status: 503, code: 'redis_unavailable', retryAfterSec: 1 });
    } finally {
      await down.close();
    }
  });

  it('throws status 0 `timeout` when the server does not answer in time', async () => {
    const error = await rejection(createHttpClient({ baseUrl: silentUrl, timeoutMs: 200 }).listTopics());
    expect(error).toMatchObject({ status: 0, code: 'timeout' });
  });

  it('throws status 0 `network_error` when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await rejection(createHttpClient({ baseUrl: `http://127.0.0.1:${port}` }).listTopics());
    expect(error).toMatchObject({ status: 0, code: 'network_error' });
  });

  it('uses the fetch it is given, and says so when an answer has no error envelope', async () => {
    const seen: string[] = [];
    const fakeFetch: typeof fetch = async (input, init) => {
      seen.push(`${init?.method} ${String(input)} ${new Headers(init?.headers).get('authorization')}`);
      return new Response('<html>bad gateway</html>', { status: 502, headers: { 'content-type': 'text/html' } });
    };
    const error = await rejection(createHttpClient({ baseUrl: 'http://producer.test', apiKey: 'k', fetch: fakeFetch }).getSchedule('a b'));
    expect(error).toMatchObject({ status: 502, code: 'unexpected_response' });
    expect(seen).toEqual(['GET http://producer.test/v1/schedules/a%20b Bearer k']);
  });
});
