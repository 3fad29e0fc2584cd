import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRedis, jobNames, MAX_PRIORITY, queuePrefix } from '@conveyor/shared';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parsePrometheusText } from '@conveyor/shared/testing';
import { createApp } from './app.ts';
import { get, opened, post, silentLogger, startTestServer, type TestServer } from './testing/test-server.ts';

const email = { to: 'ada@example.com', subject: 'Welcome', body: 'Hello Ada!' };
const BODY_LIMIT_BYTES = 4_096;

let app: TestServer;
let emailQueue: Queue;

beforeAll(async () => {
  app = await startTestServer({ redisUrl: inject('redisUrl'), bodyLimitBytes: BODY_LIMIT_BYTES });
  emailQueue = new Queue('email', { connection: app.redis, prefix: queuePrefix(app.prefix, 'email') });
  emailQueue.on('error', () => {});
});

afterAll(async () => {
  await emailQueue?.close();
  await app?.close();
});

function expectEnvelope(json: any, code: string) {
  expect(json).toEqual({ error: { code, message: expect.any(String), details: expect.any(Object) } });
}

describe('POST /v1/jobs/:name', () => {
  it('enqueues a valid job: 201 with id, name, queue and a Location to read it back', async () => {
    const res = await post(`${app.url}/v1/jobs/email.send`, { data: email });
    expect(res.status).toBe(201);
    expect(res.json).toEqual({ id: expect.any(String), name: 'email.send', queue: 'email' });
    expect(res.headers.get('location')).toBe(`/v1/jobs/email.send/${res.json.id}`);

    const job = await emailQueue.getJob(res.json.id);
    expect(job?.name).toBe('email.send');
    // The sensitive `body` is stored sealed; opened, it is what was sent.
    expect(job?.data.body).toMatchObject({ $sealed: 'v1' });
    expect(opened('email.send', job?.data)).toEqual(email);
  });

  it('answers 400 invalid_json for a malformed body', async () => {
    const res = await post(`${app.url}/v1/jobs/email.send`, '{"data": {"to": ');
    expect(res.status).toBe(400);
    expectEnvelope(res.json, 'invalid_json');
  });

  it('answers 415 when the body is not application/json, or missing', async () => {
    const text = await post(`${app.url}/v1/jobs/email.send`, 'to=ada', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expectEnvelope(text.json, 'unsupported_media_type');

    const none = await fetch(`${app.url}/v1/jobs/email.send`, { method: 'POST' });
    expect(none.status).toBe(415);
    expectEnvelope(await none.json(), 'unsupported_media_type');
  });

  it('answers 404 unknown_job listing the known job names, whatever the body', async () => {
    const res = await post(`${app.url}/v1/jobs/email.sendd`, 'not even json', { 'content-type': 'text/plain' });
    expect(res.status).toBe(404);
    expectEnvelope(res.json, 'unknown_job');
    expect(res.json.error.details.known).toEqual(jobNames);
    expect(res.json.error.message).toContain('email.send');
  });

  it('answers 422 naming every bad field: nested payload fields, options and unknown top-level fields', async () => {
    const res = await post(`${app.url}/v1/jobs/email.send`, {
      data: { to: 'not-an-email', body: 'x', cc: 'someone' },
      delayMs: -5,
      priority: MAX_PRIORITY + 1,
      jobId: 'a:b',
      extra: true,
    });
    expect(res.status).toBe(422);
    expectEnvelope(res.json, 'validation_failed');
    const paths = res.json.error.details.issues.map((issue: { path: string }) => issue.path);
    expect(paths).toEqual(
      expect.arrayContaining(['data.to', 'data.subject', 'data.cc', 'delayMs', 'priority', 'jobId', 'extra']),
    );
    for (const issue of res.json.error.details.issues) {
      expect(issue).toEqual({ path: expect.any(String), message: expect.any(String), code: expect.any(String) });
    }
  });

  it('answers 422 when data is missing or the body is not an object', async () => {
    const missing = await post(`${app.url}/v1/jobs/email.send`, {});
    expect(missing.status).toBe(422);
    expect(missing.json.error.details.issues.map((issue: { path: string }) => issue.path)).toEqual(['data']);

    const array = await post(`${app.url}/v1/jobs/email.send`, [email]);
    expect(array.status).toBe(422);
    expect(array.json.error.details.issues.map((issue: { path: string }) => issue.path)).toEqual(['', 'data']);
  });

  it('refuses a jobId in the body, well-formed or not: the job id is derived from the Idempotency-Key', async () => {
    for (const jobId of ['signup-ada-1', '12345', 'a:b', '']) {
      const res = await post(`${app.url}/v1/jobs/email.send`, { data: email, jobId });
      expect(res.status, jobId).toBe(422);
      expectEnvelope(res.json, 'validation_failed');
      expect(res.json.error.details.issues).toEqual([
        { path: 'jobId', code: 'unrecognized_keys', message: expect.stringContaining('derived from the idempotency key') },
      ]);
    }
    expect(await emailQueue.getJob('signup-ada-1')).toBeUndefined();
  });

  it('answers 413 payload_too_large past the configured body limit', async () => {
    const res = await post(`${app.url}/v1/jobs/email.send`, { data: { ...email, body: 'x'.repeat(BODY_LIMIT_BYTES) } });
    expect(res.status).toBe(413);
    expectEnvelope(res.json, 'payload_too_large');
    expect(res.json.error.details.limitBytes).toBe(BODY_LIMIT_BYTES);
  });

  it('returns the same job for a repeated Idempotency-Key: 201, then 200 with the same id', async () => {
    const key = { 'idempotency-key': `order-${Date.now()}` };
    const first = await post(`${app.url}/v1/jobs/email.send`, { data: email }, key);
    const second = await post(`${app.url}/v1/jobs/email.send`, { data: email }, key);
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.json).toEqual(first.json);
    expect(first.json.id).toMatch(/^idem-[0-9a-f]{32}$/);
    expect(second.headers.get('location')).toBe(`/v1/jobs/email.send/${first.json.id}`);
    expect(await emailQueue.getJobCountByTypes('wait', 'delayed', 'prioritized', 'active')).toBeGreaterThan(0);
  });

  it('answers 409 idempotency_conflict when a key is reused with a different payload', async () => {
    const key = { 'idempotency-key': 'reused-key' };
    expect((await post(`${app.url}/v1/jobs/email.send`, { data: email }, key)).status).toBe(201);
    const res = await post(`${app.url}/v1/jobs/email.send`, { data: { ...email, subject: 'Other' } }, key);
    expect(res.status).toBe(409);
    expectEnvelope(res.json, 'idempotency_conflict');
  });

  it('refuses an Idempotency-Key longer than 255 characters, and idempotencyKey as a body field', async () => {
    const long = await post(`${app.url}/v1/jobs/email.send`, { data: email }, { 'idempotency-key': 'k'.repeat(256) });
    expect(long.status).toBe(422);
    expect(long.json.error.details.issues).toEqual([expect.objectContaining({ path: 'Idempotency-Key' })]);

    const inBody = await post(`${app.url}/v1/jobs/email.send`, { data: email, idempotencyKey: 'k' });
    expect(inBody.status).toBe(422);
    expect(inBody.json.error.details.issues).toEqual([expect.objectContaining({ path: 'idempotencyKey' })]);
  });

  it('puts delayMs and priority on the BullMQ job', async () => {
    const delayed = await post(`${app.url}/v1/jobs/email.send`, { data: email, delayMs: 60_000, priority: 7 });
    expect(delayed.status).toBe(201);
    const delayedJob = await emailQueue.getJob(delayed.json.id);
    expect(delayedJob?.delay).toBe(60_000);
    expect(delayedJob?.priority).toBe(7);
    expect(await delayedJob?.getState()).toBe('delayed');

    const prioritized = await post(`${app.url}/v1/jobs/email.send`, { data: email, priority: 3 });
    const prioritizedJob = await emailQueue.getJob(prioritized.json.id);
    expect(prioritizedJob?.priority).toBe(3);
    expect(await prioritizedJob?.getState()).toBe('prioritized');
  });
});

describe('GET /v1/jobs/:name/:id', () => {
  it('reads back a job: state, progress, attempts, data and times', async () => {
    const created = await post(`${app.url}/v1/jobs/report.generate`, { data: { reportId: 'r-1', rows: 10 } });
    const res = await get(`${app.url}${created.headers.get('location')}`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      id: created.json.id,
      name: 'report.generate',
      queue: 'report',
      state: 'waiting',
      progress: 0,
      attemptsMade: 0,
      attempts: 3,
      data: { reportId: 'r-1', rows: 10 },
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      processedAt: null,
      finishedAt: null,
      result: null,
      failedReason: null,
      delayMs: 0,
      priority: 0,
    });
    expect(Math.abs(Date.parse(res.json.createdAt) - Date.now())).toBeLessThan(60_000);
  });

  it('shows a sensitive field masked, never its text or its ciphertext', async () => {
    const created = await post(`${app.url}/v1/jobs/email.send`, { data: { ...email, body: 'reset link s3cr3t-token' } });
    const res = await get(`${app.url}${created.headers.get('location')}`);
    expect(res.json.data).toEqual({ ...email, body: expect.stringMatching(/^•+ \(encrypted, key test\)$/) });
    expect(JSON.stringify(res.json)).not.toMatch(/s3cr3t|\$sealed/);
  });

  it('shows a finished job: completed state, result, progress and attempts made', async () => {
    // A server of its own, so that the only job to take is this one.
    const own = await startTestServer({ redisUrl: inject('redisUrl') });
    const workerRedis = createRedis({ url: inject('redisUrl'), mode: 'wait-out' }, silentLogger);
    const worker = new Worker('email', null, { connection: workerRedis, prefix: queuePrefix(own.prefix, 'email'), autorun: false });
    worker.on('error', () => {});
    try {
      const created = await post(`${own.url}/v1/jobs/email.send`, { data: email });
      // Finish it the way a worker would: take it, report progress, complete it.
      const active = await worker.getNextJob('token-1', { block: false });
      expect(active?.id).toBe(created.json.id);
      await active!.updateProgress(100);
      await active!.moveToCompleted({ sent: true }, 'token-1', false);

      const res = await get(`${own.url}/v1/jobs/email.send/${created.json.id}`);
      expect(res.json).toMatchObject({
        state: 'completed',
        progress: 100,
        attemptsMade: 1,
        attempts: 5,
        result: { sent: true },
        failedReason: null,
        processedAt: expect.any(String),
        finishedAt: expect.any(String),
      });
    } finally {
      await worker.close();
      workerRedis.disconnect();
      await own.close();
    }
  });

  it('answers 404 job_not_found for an unknown id, and for ids that name BullMQ keys', async () => {
    for (const id of ['no-such-job', '999999', 'meta', 'events', 'id', 'a:b']) {
      const res = await get(`${app.url}/v1/jobs/email.send/${encodeURIComponent(id)}`);
      expect(res.status, id).toBe(404);
      expectEnvelope(res.json, 'job_not_found');
    }
  });

  it('answers 404 job_not_found for the id of a job of another kind', async () => {
    const created = await post(`${app.url}/v1/jobs/email.send`, { data: email });
    const res = await get(`${app.url}/v1/jobs/report.generate/${created.json.id}`);
    expect(res.status).toBe(404);
    expectEnvelope(res.json, 'job_not_found');
  });

  it('answers 404 unknown_job for an unknown name', async () => {
    const res = await get(`${app.url}/v1/jobs/nope.nope/1`);
    expect(res.status).toBe(404);
    expectEnvelope(res.json, 'unknown_job');
    expect(res.json.error.details.known).toEqual(jobNames);
  });
});

describe('the rest of the app', () => {
  it('answers /healthz and /readyz while Redis is up', async () => {
    expect(await get(`${app.url}/healthz`)).toMatchObject({ status: 200, json: { status: 'ok' } });
    expect(await get(`${app.url}/readyz`)).toMatchObject({ status: 200, json: { status: 'ok' } });
  });

  it('serves its process metrics at /metrics in the Prometheus text format', async () => {
    const res = await fetch(`${app.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
    const metrics = parsePrometheusText(await res.text());
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(metrics.type.has(name), name).toBe(true);
      expect(metrics.help.get(name), name).toBeTruthy();
    }
    expect(metrics.value('process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('answers 404 not_found in the envelope for unknown routes and methods', async () => {
    const unknown = await get(`${app.url}/v2/whatever`);
    expect(unknown.status).toBe(404);
    expectEnvelope(unknown.json, 'not_found');
    const wrongMethod = await get(`${app.url}/v1/jobs/email.send`);
    expect(wrongMethod.status).toBe(404);
    expectEnvelope(wrongMethod.json, 'not_found');
  });

  it('sends security headers, but no HSTS, no upgrade-insecure-requests and no x-powered-by', async () => {
    const res = await fetch(`${app.url}/healthz`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('content-security-policy')).not.toContain('upgrade-insecure-requests');
    expect(res.headers.get('strict-transport-security')).toBeNull();
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('answers 500 internal for an unexpected error without leaking its message or stack', async () => {
    const boom = () => Promise.reject(new Error('secret detail at /srv/app.ts:42'));
    const failing = createApp({
      producer: {
        enqueueUnknown: boom,
        enqueueBulkUnknown: boom,
        getJob: boom,
        cancel: boom,
        publishUnknown: boom,
        schedules: { list: boom, get: boom, upsert: boom, upsertUnknown: boom, remove: boom, syncCatalog: boom },
        ping: () => Promise.resolve(),
      },
      logger: silentLogger,
      bodyLimitBytes: 1_024,
    });
    const server = createServer(failing);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await get(`http://127.0.0.1:${port}/v1/jobs/email.send/1`);
      expect(res.status).toBe(500);
      expect(res.json).toEqual({ error: { code: 'internal', message: 'internal error', details: {} } });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
