/**
 * The enqueue API beyond one job: bulk (named and mixed), runAt, dedup, cancel, topics and
 * schedules — over real sockets against a real Redis, checked in Redis itself.
 */
import { catalogSchedules, createRedis, findByBusinessKey, jobKinds, MAX_PRIORITY, openCatalogQueues, type AnyJobKind, queuePrefix } from '@conveyor/shared';
import { testPrefix, waitFor } from '@conveyor/shared/testing';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createProducer } from './client.ts';
import { dedupId, enqueueJobs } from './enqueue-jobs.ts';
import { eventJobId } from './publish-event.ts';
import { opened, silentLogger, startTestServer, testPayloadKeys, type TestServer } from './testing/test-server.ts';

const email = (n: number) => ({ to: `user${n}@example.com`, subject: `Hello ${n}`, body: 'Hi!' });

let app: TestServer;
const queues: Record<string, Queue> = {};

beforeAll(async () => {
  app = await startTestServer({ redisUrl: inject('redisUrl') });
  for (const name of ['email', 'webhook', 'report']) {
    queues[name] = new Queue(name, { connection: app.redis, prefix: queuePrefix(app.prefix, name) });
    queues[name].on('error', () => {});
  }
});

afterAll(async () => {
  await Promise.all(Object.values(queues).map((queue) => queue.close()));
  await app?.close();
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; headers: Headers; json: any }> {
  const response = await fetch(`${app.url}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
}

/** How many writes the producer's Redis connection makes while `run` runs: its network round trips. */
async function roundTrips(run: () => Promise<unknown>): Promise<number> {
  const stream = (app.redis as unknown as { stream: { write: (...args: unknown[]) => boolean } }).stream;
  const write = stream.write;
  let writes = 0;
  stream.write = function (this: unknown, ...args: unknown[]) {
    writes += 1;
    return write.apply(this, args);
  };
  try {
    await run();
  } finally {
    stream.write = write;
  }
  return writes;
}

describe('POST /v1/jobs/:name/bulk', () => {
  it('enqueues every item in one round trip per chunk of 250, in order', async () => {
    const before = await queues.email!.getWaitingCount();
    const jobs = Array.from({ length: 600 }, (_, n) => ({ data: email(n) }));
    // A server that has not run the index script yet answers its first EVALSHA with NOSCRIPT,
    // and the producer sends EVAL: one trip more, once per server. Counted here: the steady state.
    expect((await call('POST', '/v1/jobs/email.send', { data: email(1_000) })).status).toBe(201);
    let res!: Awaited<ReturnType<typeof call>>;
    const trips = await roundTrips(async () => {
      res = await call('POST', '/v1/jobs/email.send/bulk', { jobs });
    });
    expect(res.status).toBe(201);
    expect(res.json.rejected).toEqual([]);
    expect(res.json.jobs).toHaveLength(600);
    expect(res.json.jobs.map((job: any) => job.index)).toEqual(jobs.map((_, n) => n));
    // 600 jobs = chunks of 250 + 250 + 100: three pipelined round trips, not 600, and one
    // more that indexes them for search.
    expect(trips).toBe(4);
    expect((await queues.email!.getWaitingCount()) - before).toBe(601);
    const last = await queues.email!.getJob(res.json.jobs[599].id);
    expect(last?.data.body).toMatchObject({ $sealed: 'v1' });
    expect(opened('email.send', last?.data)).toEqual(email(599));
  });

  it('is all or nothing: one bad item → 422 naming each bad index and field, nothing enqueued', async () => {
    const before = await queues.email!.getWaitingCount();
    const res = await call('POST', '/v1/jobs/email.send/bulk', {
      jobs: [{ data: email(1) }, { data: { ...email(2), to: 'not-an-email' } }, { data: email(3), priority: -1 }, 'nope'],
    });
    expect(res.status).toBe(422);
    expect(res.json.error.code).toBe('validation_failed');
    const paths = res.json.error.details.issues.map((issue: any) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['jobs.1.data.to', 'jobs.2.priority', 'jobs.3']));
    expect(paths.some((path: string) => path.startsWith('jobs.0'))).toBe(false);
    expect(await queues.email!.getWaitingCount()).toBe(before);
  });

  it('with ?partial=true enqueues the good items and answers 207 listing the bad', async () => {
    const res = await call('POST', '/v1/jobs/email.send/bulk?partial=true', {
      jobs: [{ data: email(10) }, { data: { ...email(11), to: 'bad' } }, { data: email(12) }],
    });
    expect(res.status).toBe(207);
    expect(res.json.jobs.map((job: any) => job.index)).toEqual([0, 2]);
    expect(res.json.rejected).toEqual([{ index: 1, issues: [expect.objectContaining({ path: 'jobs.1.data.to' })] }]);
    expect(opened('email.send', (await queues.email!.getJob(res.json.jobs[1].id))?.data)).toEqual(email(12));
  });

  it('refuses more than BULK_MAX_JOBS items with 413 too_many_items, and an empty list with 422', async () => {
    const over = await call('POST', '/v1/jobs/email.send/bulk', { jobs: Array.from({ length: 1_001 }, (_, n) => ({ data: email(n) })) });
    expect(over.status).toBe(413);
    expect(over.json.error).toMatchObject({ code: 'too_many_items', details: { count: 1_001, limit: 1_000 } });
    const empty = await call('POST', '/v1/jobs/email.send/bulk', { jobs: [] });
    expect(empty.status).toBe(422);
    expect(empty.json.error.details.issues[0].path).toBe('jobs');
  });

  it('keeps per-item idempotency keys: a repeated bulk creates nothing new', async () => {
    const jobs = [0, 1, 2].map((n) => ({ data: email(100 + n), idempotencyKey: `bulk-key-${n}` }));
    const first = await call('POST', '/v1/jobs/email.send/bulk', { jobs });
    expect(first.status).toBe(201);
    const again = await call('POST', '/v1/jobs/email.send/bulk', { jobs });
    expect(again.status).toBe(200);
    expect(again.json.jobs.map((job: any) => [job.id, job.created])).toEqual(first.json.jobs.map((job: any) => [job.id, false]));
  });

  it('refuses two items naming one job through one idempotency key', async () => {
    const res = await call('POST', '/v1/jobs/email.send/bulk', { jobs: [{ data: email(1), idempotencyKey: 'twin' }, { data: email(2), idempotencyKey: 'twin' }] });
    expect(res.status).toBe(422);
    expect(res.json.error.details.issues).toEqual([expect.objectContaining({ path: 'jobs.1.idempotencyKey', code: 'duplicate' })]);
  });

  it('refuses a jobId in any item, naming jobs.<index>.jobId, and enqueues nothing', async () => {
    const before = await queues.email!.getWaitingCount();
    const named = await call('POST', '/v1/jobs/email.send/bulk', { jobs: [{ data: email(1) }, { data: email(2), jobId: 'bulk-chosen-id' }] });
    expect(named.status).toBe(422);
    expect(named.json.error).toMatchObject({ code: 'validation_failed', message: expect.any(String) });
    expect(named.json.error.details.issues).toEqual([expect.objectContaining({ path: 'jobs.1.jobId', code: 'unrecognized_keys' })]);
    const mixed = await call('POST', '/v1/jobs:bulk', { jobs: [{ name: 'email.send', data: email(3), jobId: 'mixed-chosen-id' }] });
    expect(mixed.status).toBe(422);
    expect(mixed.json.error.details.issues).toEqual([expect.objectContaining({ path: 'jobs.0.jobId', code: 'unrecognized_keys' })]);
    // Even the partial form refuses the item rather than taking its id.
    const partial = await call('POST', '/v1/jobs/email.send/bulk?partial=true', { jobs: [{ data: email(4), jobId: 'partial-chosen-id' }] });
    expect(partial.status).toBe(207);
    expect(partial.json.rejected).toEqual([{ index: 0, issues: [expect.objectContaining({ path: 'jobs.0.jobId' })] }]);
    expect(await queues.email!.getWaitingCount()).toBe(before);
    for (const id of ['bulk-chosen-id', 'mixed-chosen-id', 'partial-chosen-id']) expect(await queues.email!.getJob(id)).toBeUndefined();
  });
});

describe('POST /v1/jobs:bulk (mixed kinds)', () => {
  it('enqueues jobs of several kinds onto their queues', async () => {
    const res = await call('POST', '/v1/jobs:bulk', {
      jobs: [
        { name: 'email.send', data: email(1) },
        { name: 'webhook.deliver', data: { url: 'https://example.com/h', event: 'x' } },
        { name: 'email.send', data: email(2), delayMs: 60_000 },
      ],
    });
    expect(res.status).toBe(201);
    expect(res.json.jobs.map((job: any) => job.queue)).toEqual(['email', 'webhook', 'email']);
    expect(await queues.webhook!.getJobState(res.json.jobs[1].id)).toBe('waiting');
    expect(await queues.email!.getJobState(res.json.jobs[2].id)).toBe('delayed');
  });

  it('names an unknown or missing kind by index', async () => {
    const res = await call('POST', '/v1/jobs:bulk', { jobs: [{ name: 'nope.never', data: {} }, { data: email(1) }] });
    expect(res.status).toBe(422);
    expect(res.json.error.details.issues.map((issue: any) => issue.path)).toEqual(['jobs.0.name', 'jobs.1.name']);
  });
});

describe('scheduling one job', () => {
  it('runAt (ISO-8601) delays the job until then', async () => {
    const runAt = new Date(Date.now() + 3_600_000).toISOString();
    const res = await call('POST', '/v1/jobs/email.send', { data: email(1), runAt });
    expect(res.status).toBe(201);
    const job = await queues.email!.getJob(res.json.id);
    expect(await job!.getState()).toBe('delayed');
    expect(Math.abs(job!.timestamp + job!.delay - Date.parse(runAt))).toBeLessThan(2_000);
  });

  it('refuses runAt with delayMs, a runAt that is no date, and one more than a year ahead', async () => {
    const both = await call('POST', '/v1/jobs/email.send', { data: email(1), runAt: new Date().toISOString(), delayMs: 5 });
    const junk = await call('POST', '/v1/jobs/email.send', { data: email(1), runAt: 'tomorrow' });
    const far = await call('POST', '/v1/jobs/email.send', { data: email(1), runAt: new Date(Date.now() + 400 * 86_400_000).toISOString() });
    for (const res of [both, junk, far]) {
      expect(res.status).toBe(422);
      expect(res.json.error.details.issues.map((issue: any) => issue.path)).toContain('runAt');
    }
  });

  it('keeps priority within bounds', async () => {
    const res = await call('POST', '/v1/jobs/email.send', { data: email(1), priority: MAX_PRIORITY + 1 });
    expect(res.status).toBe(422);
    expect(res.json.error.details.issues[0].path).toBe('priority');
  });
});

describe('dedup by a key derived from the payload', () => {
  it('gives one pending report.generate per reportId, and a new one once it finished', async () => {
    const first = await call('POST', '/v1/jobs/report.generate', { data: { reportId: 'dedup-1', rows: 10 } });
    const second = await call('POST', '/v1/jobs/report.generate', { data: { reportId: 'dedup-1', rows: 99 } });
    const other = await call('POST', '/v1/jobs/report.generate', { data: { reportId: 'dedup-2', rows: 10 } });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.json).toEqual({ id: first.json.id, name: 'report.generate', queue: 'report', deduplicated: true });
    expect(other.status).toBe(201);
    expect(other.json.id).not.toBe(first.json.id);

    // Once the pending job is gone (here: cancelled), the key is free again.
    expect((await call('DELETE', `/v1/jobs/report.generate/${first.json.id}`)).status).toBe(200);
    const third = await call('POST', '/v1/jobs/report.generate', { data: { reportId: 'dedup-1', rows: 10 } });
    expect(third.status).toBe(201);
    expect(third.json.id).not.toBe(first.json.id);
  });

  it('stores the dedup key hashed, never the business key itself', async () => {
    await call('POST', '/v1/jobs/report.generate', { data: { reportId: 'secret-report-key', rows: 1 } });
    const keys = await app.redis.keys(`${queuePrefix(app.prefix, 'report')}:report:de:*`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.join(' ')).not.toContain('secret-report-key');
  });

  it('holds a key with a ttlMs for that long, through the job\'s completion, and frees it after', async () => {
    // No catalog kind sets ttlMs: report.generate with one, through the same enqueue path.
    const TTL_MS = 3_000;
    const kind: AnyJobKind = { ...jobKinds['report.generate'], dedup: { key: (data) => (data as { reportId: string }).reportId, ttlMs: TTL_MS } };
    const prefix = testPrefix('dedup-ttl');
    const catalogQueues = openCatalogQueues({ connection: app.redis, prefix, logger: silentLogger, names: ['report'] });
    const enqueue = async (rows: number) => {
      const [result] = await enqueueJobs(
        { redis: app.redis, queues: catalogQueues, prefix, idempotencyTtlSec: 60, call: (_label, run) => run() },
        [{ kind, data: { reportId: 'ttl-rpt', rows }, options: {} }],
      );
      return result!;
    };
    const report = catalogQueues.get('report');
    const dedupKey = `${report.toKey('de')}:${dedupId('report.generate', 'ttl-rpt')}`;
    const workerRedis = createRedis({ url: inject('redisUrl'), mode: 'wait-out' }, silentLogger);
    let worker: Worker | undefined;
    try {
      const startedAt = Date.now();
      const first = await enqueue(1);
      expect(first.created).toBe(true);
      // Pending: the key answers with the pending job.
      expect(await enqueue(2)).toEqual({ ...first, created: false, deduplicated: true });

      worker = new Worker('report', async () => 'done', { connection: workerRedis, prefix: report.opts.prefix! });
      worker.on('error', () => {});
      await waitFor(async () => (await report.getJobState(first.id)) === 'completed', { what: 'the first job to complete' });
      // Completed, within the TTL: the key still holds and still names the first job.
      expect(await enqueue(3)).toEqual({ ...first, created: false, deduplicated: true });
      expect(Date.now() - startedAt).toBeLessThan(TTL_MS);
      expect(await app.redis.pttl(dedupKey)).toBeGreaterThan(0);

      // Past the TTL the key is gone, and the same key makes a new job.
      await waitFor(async () => (await app.redis.exists(dedupKey)) === 0, { what: 'the dedup key to expire', timeoutMs: TTL_MS + 2_000, intervalMs: 100 });
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(TTL_MS);
      const after = await enqueue(4);
      expect(after).toMatchObject({ created: true });
      expect(after.id).not.toBe(first.id);
    } finally {
      await worker?.close();
      workerRedis.disconnect();
      await catalogQueues.close();
    }
  });
});

describe('DELETE /v1/jobs/:name/:id', () => {
  it('cancels a waiting and a delayed job', async () => {
    const waiting = await call('POST', '/v1/jobs/email.send', { data: email(1) });
    const delayed = await call('POST', '/v1/jobs/email.send', { data: email(2), delayMs: 60_000 });
    const one = await call('DELETE', `/v1/jobs/email.send/${waiting.json.id}`);
    const two = await call('DELETE', `/v1/jobs/email.send/${delayed.json.id}`);
    expect(one).toMatchObject({ status: 200, json: { id: waiting.json.id, state: 'cancelled', previousState: 'waiting' } });
    expect(two).toMatchObject({ status: 200, json: { id: delayed.json.id, state: 'cancelled', previousState: 'delayed' } });
    expect(await queues.email!.getJob(waiting.json.id)).toBeUndefined();
    expect((await call('GET', `/v1/jobs/email.send/${waiting.json.id}`)).status).toBe(404);
    expect((await call('DELETE', `/v1/jobs/email.send/${waiting.json.id}`)).status).toBe(404);
  });

  it('answers 409 job_active with the state for a running job, and job_finished for a completed one', async () => {
    const res = await call('POST', '/v1/jobs/webhook.deliver', { data: { url: 'https://example.com/h', event: 'x' } });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const workerRedis = createRedis({ url: inject('redisUrl'), mode: 'wait-out' }, silentLogger);
    const worker = new Worker('webhook', async (job) => {
      if (job.id !== res.json.id) return;
      started();
      await released;
    }, { connection: workerRedis, prefix: queuePrefix(app.prefix, 'webhook') });
    worker.on('error', () => {});
    try {
      await running;
      const active = await call('DELETE', `/v1/jobs/webhook.deliver/${res.json.id}`);
      expect(active.status).toBe(409);
      expect(active.json.error).toMatchObject({ code: 'job_active', details: { state: 'active' } });
      const done = new Promise((resolve) => worker.once('completed', resolve));
      release();
      await done;
      const finished = await call('DELETE', `/v1/jobs/webhook.deliver/${res.json.id}`);
      expect(finished.status).toBe(409);
      expect(finished.json.error).toMatchObject({ code: 'job_finished', details: { state: 'completed' } });
    } finally {
      release();
      await worker.close();
      workerRedis.disconnect();
    }
  });
});

describe('POST /v1/events/:topic', () => {
  const event = { userId: 'usr_1', email: 'ada@example.com', name: 'Ada', crmWebhookUrl: 'https://crm.example.com/hooks' };

  it('enqueues one job per subscriber, and none again for the same event id', async () => {
    const first = await call('POST', '/v1/events/user.signed_up', { id: 'evt-signup-1', data: event });
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ topic: 'user.signed_up', eventId: 'evt-signup-1' });
    expect(first.json.jobs.map((job: any) => [job.name, job.created])).toEqual([['email.send', true], ['webhook.deliver', true]]);
    expect(first.json.jobs[0].id).toBe(eventJobId('user.signed_up', 'evt-signup-1', 'email.send'));

    const mail = await queues.email!.getJob(first.json.jobs[0].id);
    // The fan-out seals the subscriber's sensitive field like any enqueue.
    expect(mail?.data.body).toMatchObject({ $sealed: 'v1' });
    expect(opened('email.send', mail?.data)).toEqual({ to: 'ada@example.com', subject: 'Welcome to Conveyor', body: 'Hello Ada, welcome aboard!' });
    const hook = await queues.webhook!.getJob(first.json.jobs[1].id);
    expect(hook?.data).toEqual({ url: 'https://crm.example.com/hooks', event: 'user.signed_up', payload: { eventId: 'evt-signup-1', userId: 'usr_1', email: 'ada@example.com' } });

    const again = await call('POST', '/v1/events/user.signed_up', { id: 'evt-signup-1', data: event });
    expect(again.status).toBe(200);
    expect(again.json.jobs.map((job: any) => job.created)).toEqual([false, false]);
    expect(again.json.jobs.map((job: any) => job.id)).toEqual(first.json.jobs.map((job: any) => job.id));

    const conflict = await call('POST', '/v1/events/user.signed_up', { id: 'evt-signup-1', data: { ...event, name: 'Bob' } });
    expect(conflict.status).toBe(409);
  });

  it('validates the event (422 naming the field), and 404s an unknown topic', async () => {
    const bad = await call('POST', '/v1/events/user.signed_up', { data: { ...event, email: 'nope' } });
    expect(bad.status).toBe(422);
    expect(bad.json.error.details.issues.map((issue: any) => issue.path)).toEqual(['data.email']);
    const unknown = await call('POST', '/v1/events/user.deleted', { data: event });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('unknown_topic');
  });

  it('takes event ids from a strict allowlist: 422 naming `id` for anything else', async () => {
    const refused = [
      'with space', 'a/b', 'a:b', 'café', 'ß', 'tab\tid', 'nul\u0000id', '~x', '.hidden', '-dash', '_under',
      '12345', 'meta', 'events', 'x'.repeat(129), '',
    ];
    for (const id of refused) {
      const res = await call('POST', '/v1/events/user.signed_up', { id, data: event });
      expect(res.status, JSON.stringify(id)).toBe(422);
      expect(res.json.error.code).toBe('validation_failed');
      expect(res.json.error.details.issues.map((issue: any) => issue.path), JSON.stringify(id)).toEqual(['id']);
    }
    for (const id of ['x'.repeat(128), 'A1.b_c-d', '7up']) {
      expect((await call('POST', '/v1/events/user.signed_up', { id, data: event })).status, id).toBe(201);
    }
  });

  it('lists the topics and their subscribers', async () => {
    const res = await call('GET', '/v1/topics');
    expect(res.json.topics).toEqual([expect.objectContaining({ name: 'user.signed_up', subscribers: ['email.send', 'webhook.deliver'] })]);
  });
});

describe('/v1/schedules', () => {
  it('creates, reads, lists, changes and deletes a schedule', async () => {
    const created = await call('PUT', '/v1/schedules/digest.hourly', { name: 'email.send', data: email(1), cron: '0 * * * *', tz: 'Europe/Paris' });
    expect(created.status).toBe(201);
    // Shown with the sensitive `body` masked; stored sealed.
    const masked = (data: object) => ({ ...data, body: expect.stringMatching(/^•+/) });
    expect(created.json).toMatchObject({ id: 'digest.hourly', name: 'email.send', queue: 'email', cron: '0 * * * *', tz: 'Europe/Paris', source: 'api', data: masked(email(1)) });
    const stored = await queues.email!.getJobScheduler('digest.hourly');
    expect(opened('email.send', stored?.template?.data)).toEqual(email(1));
    expect(JSON.stringify(stored)).not.toContain('Hi!');
    expect(Date.parse(created.json.next)).toBeGreaterThan(Date.now());

    const changed = await call('PUT', '/v1/schedules/digest.hourly', { name: 'email.send', data: email(2), everyMs: 60_000 });
    expect(changed.status).toBe(200);
    expect(changed.json).toMatchObject({ everyMs: 60_000, data: masked(email(2)) });
    expect(changed.json.cron).toBeUndefined();

    const listed = await call('GET', '/v1/schedules');
    expect(listed.json.schedules.map((schedule: any) => schedule.id)).toContain('digest.hourly');
    expect((await call('GET', '/v1/schedules/digest.hourly')).json.everyMs).toBe(60_000);

    expect((await call('DELETE', '/v1/schedules/digest.hourly')).status).toBe(204);
    expect((await call('GET', '/v1/schedules/digest.hourly')).status).toBe(404);
    expect((await call('DELETE', '/v1/schedules/digest.hourly')).status).toBe(404);
  });

  it('moves a schedule whose kind changes queue, so an id names one schedule', async () => {
    await call('PUT', '/v1/schedules/moving', { name: 'email.send', data: email(1), everyMs: 60_000 });
    await call('PUT', '/v1/schedules/moving', { name: 'webhook.deliver', data: { url: 'https://example.com/h', event: 'tick' }, everyMs: 60_000 });
    expect(await queues.email!.getJobScheduler('moving')).toBeUndefined();
    expect((await call('GET', '/v1/schedules/moving')).json.queue).toBe('webhook');
    await call('DELETE', '/v1/schedules/moving');
  });

  it('names every bad field of an upsert', async () => {
    const res = await call('PUT', '/v1/schedules/bad', { name: 'email.send', data: { to: 'x' }, cron: '61 * * * *' });
    expect(res.status).toBe(422);
    const paths = res.json.error.details.issues.map((issue: any) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['cron', 'data.to']));
    const both = await call('PUT', '/v1/schedules/bad', { name: 'email.send', data: email(1), cron: '* * * * *', everyMs: 5_000 });
    expect(both.status).toBe(422);
    const zone = await call('PUT', '/v1/schedules/bad', { name: 'email.send', data: email(1), cron: '* * * * *', tz: 'Mars/Olympus' });
    expect(zone.json.error.details.issues.map((issue: any) => issue.path)).toEqual(['tz']);
    const id = await call('PUT', `/v1/schedules/${'x'.repeat(200)}`, { name: 'email.send', data: email(1), everyMs: 5_000 });
    expect(id.json.error.details.issues.map((issue: any) => issue.path)).toEqual(['id']);
  });

  it('reads a job a schedule made by its repeat:<schedule>:<ms> id, and answers its cancel with 409 job_scheduled', async () => {
    const put = await call('PUT', '/v1/schedules/nightly.digest', { name: 'email.send', data: email(1), cron: '0 3 * * *', tz: 'UTC' });
    expect(put.status).toBe(201);
    const [next] = (await queues.email!.getJobs(['delayed'])).filter((job) => job.repeatJobKey === 'nightly.digest');
    expect(next?.id).toBe(`repeat:nightly.digest:${Date.parse(put.json.next)}`);
    const path = `/v1/jobs/email.send/${encodeURIComponent(next!.id!)}`;
    try {
      const read = await call('GET', path);
      expect(read.status).toBe(200);
      expect(read.json).toMatchObject({ id: next!.id, name: 'email.send', queue: 'email', state: 'delayed' });
      // Unencoded, the colons are still one path segment.
      expect((await call('GET', `/v1/jobs/email.send/${next!.id}`)).json.id).toBe(next!.id);

      const cancel = await call('DELETE', path);
      expect(cancel.status).toBe(409);
      expect(cancel.json.error).toMatchObject({ code: 'job_scheduled', details: { id: next!.id, state: 'delayed', schedule: 'nightly.digest' } });
      expect(await queues.email!.getJobState(next!.id!)).toBe('delayed');
    } finally {
      expect((await call('DELETE', '/v1/schedules/nightly.digest')).status).toBe(204);
    }
    // Deleting the schedule took its next run along.
    expect((await call('GET', path)).status).toBe(404);
    // Only that shape: other ids with ":" are no job ids, and no enqueue may choose one.
    for (const id of ['repeat:nightly.digest:abc', 'repeat::1', 'other:nightly.digest:1', 'repeat:a/b:1']) {
      expect((await call('GET', `/v1/jobs/email.send/${encodeURIComponent(id)}`)).status, id).toBe(404);
    }
    await expect(app.producer.enqueue('email.send', email(2), { jobId: next!.id! })).rejects.toMatchObject({ issues: [expect.objectContaining({ path: 'jobId' })] });
  });

  it('puts the catalog schedules in place, marked as such', async () => {
    await app.producer.schedules.syncCatalog();
    const listed = await call('GET', '/v1/schedules');
    for (const schedule of catalogSchedules) {
      expect(listed.json.schedules).toContainEqual(expect.objectContaining({ id: schedule.id, name: schedule.kind.name, source: 'catalog' }));
    }
  });

  it('fires once per tick however many producer replicas upsert the same schedule', async () => {
    // A second producer over the same Redis and prefix: another replica.
    const replica = createProducer({ redis: app.redis, prefix: app.prefix, payloadKeys: testPayloadKeys });
    const seen: number[] = [];
    const workerRedis = createRedis({ url: inject('redisUrl'), mode: 'wait-out' }, silentLogger);
    const worker = new Worker('email', async (job) => {
      // A scheduler's job id is `repeat:<scheduler id>:<fire time in ms>`.
      if (job.repeatJobKey === 'every-second') seen.push(Number(job.id!.split(':').at(-1)));
    }, { connection: workerRedis, prefix: queuePrefix(app.prefix, 'email'), concurrency: 5 });
    worker.on('error', () => {});
    try {
      const spec = { name: 'email.send' as const, data: email(7), everyMs: 1_000 };
      await Promise.all([call('PUT', '/v1/schedules/every-second', spec), replica.schedules.upsert('every-second', spec), replica.schedules.upsert('every-second', spec)]);
      const deadline = Date.now() + 10_000;
      while (seen.length < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(seen.length).toBeGreaterThanOrEqual(4);
      // One job per tick: no two runs share a fire time, and consecutive runs are one interval apart.
      const sorted = [...seen].sort((a, b) => a - b);
      expect(new Set(sorted).size).toBe(sorted.length);
      for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBe(1_000);
    } finally {
      await call('DELETE', '/v1/schedules/every-second');
      await worker.close();
      workerRedis.disconnect();
      await replica.close();
    }
  });
});

describe('bulk under a rate limit', () => {
  it('costs one token per job, so a bulk cannot dodge the limit', async () => {
    const limited = await startTestServer({ redisUrl: inject('redisUrl'), rateLimit: { perSec: 0.1, burst: 10 } });
    try {
      const bulk = (count: number) =>
        fetch(`${limited.url}/v1/jobs/email.send/bulk`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jobs: Array.from({ length: count }, (_, n) => ({ data: email(n) })) }),
        });
      expect((await bulk(6)).status).toBe(201);
      const refused = await bulk(5);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // 10 − 6 = 4 left; the refused request still spent its entry token: 3 left, enough for 3 jobs.
      expect((await bulk(3)).status).toBe(201);
    } finally {
      await limited.close();
    }
  });
});

describe('the business-key search index', () => {
  it('indexes every job the producer enqueues under its kind\'s search keys, hashed', async () => {
    const single = await call('POST', '/v1/jobs/email.send', { data: { ...email(1), to: 'Search.Me@Example.com' } });
    const bulk = await call('POST', '/v1/jobs/email.send/bulk', { jobs: [{ data: { ...email(2), to: 'search.me@example.com' } }, { data: email(3) }] });
    const report = await call('POST', '/v1/jobs/report.generate', { data: { reportId: 'search-rpt', rows: 1 } });

    const hits = await findByBusinessKey(app.redis, app.prefix, Object.values(jobKinds), ' search.me@EXAMPLE.com');
    expect(hits.map((hit) => hit.id).sort()).toEqual([single.json.id, bulk.json.jobs[0].id].sort());
    expect(hits.every((hit) => hit.name === 'email.send' && hit.field === 'to')).toBe(true);
    expect((await findByBusinessKey(app.redis, app.prefix, Object.values(jobKinds), 'search-rpt')).map((hit) => hit.id)).toEqual([report.json.id]);
    expect(await findByBusinessKey(app.redis, app.prefix, Object.values(jobKinds), 'nobody@example.com')).toEqual([]);

    const keys = await app.redis.keys(`${app.prefix}:*:~conveyor:search:*`);
    expect(keys.join(' ')).not.toMatch(/search\.me|search-rpt/i);
    for (const key of keys) expect(await app.redis.ttl(key)).toBeGreaterThan(0);
  });

  it('does not index a deduplicated or repeated enqueue twice', async () => {
    const first = await call('POST', '/v1/jobs/report.generate', { data: { reportId: 'once-rpt', rows: 1 } });
    await call('POST', '/v1/jobs/report.generate', { data: { reportId: 'once-rpt', rows: 2 } });
    const hits = await findByBusinessKey(app.redis, app.prefix, Object.values(jobKinds), 'once-rpt');
    expect(hits.map((hit) => hit.id)).toEqual([first.json.id]);
  });
});
