import { createRedis, idempotencyKey, jobNames, whenRedisReady, queuePrefix } from '@conveyor/shared';
import { testPrefix } from '@conveyor/shared/testing';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  createProducer,
  IdempotencyConflictError,
  JobNotFoundError,
  JobValidationError,
  UnknownJobError,
  type Producer,
} from './client.ts';
import { canonicalJson, idempotentJobId } from './idempotency.ts';
import { opened, silentLogger, testPayloadKeys } from './testing/test-server.ts';

const email = { to: 'ada@example.com', subject: 'Welcome', body: 'Hello Ada!' };

let redis: Redis;
let prefix: string;
let producer: Producer;
let queues: Queue[];

beforeEach(async () => {
  redis = createRedis({ url: inject('redisUrl'), mode: 'fail-fast' }, silentLogger);
  await whenRedisReady(redis, 5_000);
  prefix = testPrefix('client');
  producer = createProducer({ redis, prefix, logger: silentLogger, idempotencyTtlSec: 600, payloadKeys: testPayloadKeys });
  queues = [];
});

afterEach(async () => {
  await Promise.all(queues.map((queue) => queue.close()));
  await producer.close();
  redis.disconnect();
});

function openQueue(name: string): Queue {
  const queue = new Queue(name, { connection: redis, prefix: queuePrefix(prefix, name) });
  queue.on('error', () => {});
  queues.push(queue);
  return queue;
}

describe('createProducer().enqueue', () => {
  it('enqueues a typed payload and stores the parsed payload (defaults applied)', async () => {
    const result = await producer.enqueue('webhook.deliver', { url: 'https://EXAMPLE.com/hook', event: 'invoice.paid' });
    expect(result).toEqual({ id: expect.any(String), name: 'webhook.deliver', queue: 'webhook', created: true });
    const job = await openQueue('webhook').getJob(result.id);
    expect(job?.data).toEqual({ url: 'https://example.com/hook', event: 'invoice.paid', payload: {} });
    expect(job?.opts.attempts).toBe(8);
  });

  it('refuses a payload of the wrong type at compile time and at run time', async () => {
    // @ts-expect-error `to` must be a string: the catalog's schema types the payload.
    const wrong = producer.enqueue('email.send', { to: 42, subject: 'Hi', body: 'x' });
    await expect(wrong).rejects.toBeInstanceOf(JobValidationError);
    await expect(wrong).rejects.toMatchObject({ issues: [expect.objectContaining({ path: 'data.to' })] });
  });

  it('throws UnknownJobError listing the known names for a name outside the catalog', async () => {
    const error = await producer.enqueueUnknown('sms.send', {}).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(UnknownJobError);
    expect((error as UnknownJobError).known).toEqual(jobNames);
  });

  it('reports every bad option and payload field in one JobValidationError', async () => {
    const error = await producer
      .enqueueUnknown('report.generate', { reportId: '', rows: 1.5 }, { delayMs: 'soon', priority: -1, colour: 'red' })
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(JobValidationError);
    expect((error as JobValidationError).issues.map((issue) => issue.path).sort()).toEqual(
      ['colour', 'data.reportId', 'data.rows', 'delayMs', 'priority'].sort(),
    );
  });

  it('gives the same job for the same idempotency key, whatever the key order of the payload', async () => {
    const first = await producer.enqueue('email.send', email, { idempotencyKey: 'signup-1' });
    const reordered = { body: email.body, subject: email.subject, to: email.to };
    const second = await producer.enqueue('email.send', reordered, { idempotencyKey: 'signup-1' });
    expect(first).toMatchObject({ id: idempotentJobId('email.send', 'signup-1'), created: true });
    expect(second).toEqual({ ...first, created: false });
    expect(await openQueue('email').getJobCounts('wait')).toEqual({ wait: 1 });
  });

  it('throws IdempotencyConflictError when a key or job id comes back with another payload', async () => {
    await producer.enqueue('email.send', email, { idempotencyKey: 'k' });
    await expect(producer.enqueue('email.send', { ...email, body: 'changed' }, { idempotencyKey: 'k' })).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
    await producer.enqueue('email.send', email, { jobId: 'welcome-ada' });
    await expect(producer.enqueue('email.send', { ...email, to: 'bob@example.com' }, { jobId: 'welcome-ada' })).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
  });

  it('remembers the marker for the configured TTL', async () => {
    const { id } = await producer.enqueue('email.send', email, { idempotencyKey: 'ttl' });
    const ttlSec = await redis.ttl(idempotencyKey(prefix, 'email', id));
    expect(ttlSec).toBeGreaterThan(590);
    expect(ttlSec).toBeLessThanOrEqual(600);
  });

  it('still answers "not created" after the job was removed, while the marker lives', async () => {
    const { id } = await producer.enqueue('email.send', email, { jobId: 'removed-later' });
    await openQueue('email').remove(id);
    expect(await producer.enqueue('email.send', email, { jobId: 'removed-later' })).toMatchObject({ id, created: false });
  });

  it('answers "not created" when the job exists but its marker was never written', async () => {
    const { id } = await producer.enqueue('email.send', email, { jobId: 'crashed-before-marker' });
    await redis.del(idempotencyKey(prefix, 'email', id));
    expect(await producer.enqueue('email.send', email, { jobId: 'crashed-before-marker' })).toMatchObject({ id, created: false });
  });

  it('creates exactly one job when identical requests race', async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, () => producer.enqueue('email.send', email, { idempotencyKey: 'race' })),
    );
    expect(results.filter((result) => result.created)).toHaveLength(1);
    expect(new Set(results.map((result) => result.id)).size).toBe(1);
    expect(await openQueue('email').getJobCounts('wait')).toEqual({ wait: 1 });
  });

  it('answers a racing request with another payload by a conflict, not a second "created"', async () => {
    const settled = await Promise.allSettled([
      producer.enqueue('email.send', email, { jobId: 'contested' }),
      producer.enqueue('email.send', { ...email, subject: 'Other' }, { jobId: 'contested' }),
    ]);
    const created = settled.filter((result) => result.status === 'fulfilled' && result.value.created);
    expect(created).toHaveLength(1);
    expect(settled.filter((result) => result.status === 'rejected')).toEqual([
      { status: 'rejected', reason: expect.any(IdempotencyConflictError) },
    ]);
  });
});

describe('job ids chosen by the application', () => {
  it('lets the typed client choose one from a strict allowlist, naming jobId otherwise', async () => {
    expect(await producer.enqueue('email.send', email, { jobId: 'Welcome.ada_1-x' })).toMatchObject({ id: 'Welcome.ada_1-x', created: true });
    const refused = ['with space', 'a/b', 'a:b', 'café', 'ß', 'nul\u0000id', '~x', '.hidden', '12345', 'meta', 'x'.repeat(129), '', 'repeat:digest:1'];
    for (const jobId of refused) {
      const attempt = producer.enqueue('email.send', email, { jobId });
      await expect(attempt, JSON.stringify(jobId)).rejects.toBeInstanceOf(JobValidationError);
      await expect(attempt).rejects.toMatchObject({ issues: [expect.objectContaining({ path: 'jobId' })] });
    }
    const bulk = producer.enqueueBulk([{ name: 'email.send', data: email, jobId: 'a/b' }]);
    await expect(bulk).rejects.toMatchObject({ issues: [expect.objectContaining({ path: 'jobs.0.jobId' })] });
  });

  it('refuses a jobId through the run-time methods the HTTP routes use', async () => {
    const single = producer.enqueueUnknown('email.send', email, { jobId: 'from-a-body' });
    await expect(single).rejects.toMatchObject({ issues: [expect.objectContaining({ path: 'jobId', code: 'unrecognized_keys' })] });
    const bulk = producer.enqueueBulkUnknown([{ data: email, jobId: 'from-a-body' }], { name: 'email.send' });
    await expect(bulk).rejects.toMatchObject({ issues: [expect.objectContaining({ path: 'jobs.0.jobId', code: 'unrecognized_keys' })] });
    expect(await openQueue('email').getJob('from-a-body')).toBeUndefined();
  });
});

describe('createProducer().getJob', () => {
  it('returns the status of a job, and undefined for unknown ids or another kind', async () => {
    const { id } = await producer.enqueue('report.generate', { reportId: 'r', rows: 5 }, { delayMs: 5_000, priority: 2 });
    const status = await producer.getJob('report.generate', id);
    expect(status).toMatchObject({
      id,
      name: 'report.generate',
      queue: 'report',
      state: 'delayed',
      progress: 0,
      attemptsMade: 0,
      attempts: 3,
      data: { reportId: 'r', rows: 5 },
      processedAt: null,
      finishedAt: null,
      returnvalue: null,
      failedReason: null,
      delayMs: 5_000,
      priority: 2,
    });
    expect(status?.createdAt).toBeInstanceOf(Date);
    expect(await producer.getJob('report.generate', 'nope')).toBeUndefined();
    expect(await producer.getJob('email.send', id)).toBeUndefined();
    await expect(producer.getJob('nope.nope', id)).rejects.toBeInstanceOf(UnknownJobError);
  });
});

describe('canonicalJson', () => {
  it('sorts object keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { f: 1, e: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"e":2,"f":1}]},"b":1}');
  });
});

describe('the typed client covers the rest of the HTTP API', () => {
  it('enqueueBulk: typed items of several kinds, all or nothing', async () => {
    const result = await producer.enqueueBulk([
      { name: 'email.send', data: email, idempotencyKey: 'bulk-typed-1' },
      { name: 'report.generate', data: { reportId: 'typed', rows: 3 }, runAt: new Date(Date.now() + 60_000) },
    ]);
    expect(result.rejected).toEqual([]);
    expect(result.jobs.map((job) => [job.index, job.name, job.created])).toEqual([[0, 'email.send', true], [1, 'report.generate', true]]);
    expect(await openQueue('report').getJobState(result.jobs[1]!.id)).toBe('delayed');

    const refused = producer.enqueueBulk([
      { name: 'email.send', data: email },
      // @ts-expect-error `rows` must be a number: each item is typed by its own kind.
      { name: 'report.generate', data: { reportId: 'typed', rows: 'many' } },
    ]);
    await expect(refused).rejects.toMatchObject({ issues: [expect.objectContaining({ path: 'jobs.1.data.rows' })] });
    expect(await openQueue('email').getWaitingCount()).toBe(1);
  });

  it('publish: a typed event fans out to every subscriber once per event id', async () => {
    const event = { userId: 'u1', email: 'ada@example.com', name: 'Ada', crmWebhookUrl: 'https://crm.example.com/h' };
    const first = await producer.publish('user.signed_up', event, { eventId: 'e-1' });
    const again = await producer.publish('user.signed_up', event, { eventId: 'e-1' });
    expect(first.jobs.map((job) => job.created)).toEqual([true, true]);
    expect(again.jobs.map((job) => job.created)).toEqual([false, false]);
    // @ts-expect-error the event is typed by the topic's schema.
    await expect(producer.publish('user.signed_up', { userId: 1 })).rejects.toBeInstanceOf(JobValidationError);
  });

  it('schedules: upsert takes a spec typed by its kind; upsertUnknown checks one known only at run time', async () => {
    const { schedule, created } = await producer.schedules.upsert('typed.hourly', { name: 'report.generate', data: { reportId: 'typed', rows: 3 }, cron: '0 * * * *' });
    expect([schedule.name, schedule.cron, schedule.tz, created]).toEqual(['report.generate', '0 * * * *', 'UTC', true]);
    // @ts-expect-error `rows` must be a number: the payload is typed by the schedule's kind.
    const wrong = producer.schedules.upsert('typed.hourly', { name: 'report.generate', data: { reportId: 'typed', rows: 'many' }, everyMs: 60_000 });
    await expect(wrong).rejects.toMatchObject({ issues: [expect.objectContaining({ path: 'data.rows' })] });
    const unknown = producer.schedules.upsertUnknown('typed.hourly', { name: 'report.generate', data: { reportId: 'typed' }, everyMs: 60_000 });
    await expect(unknown).rejects.toMatchObject({ issues: [expect.objectContaining({ path: 'data.rows' })] });
    await producer.schedules.remove('typed.hourly');
  });

  it('cancel: removes a delayed job and refuses an unknown one', async () => {
    const { id } = await producer.enqueue('email.send', email, { delayMs: 60_000 });
    expect(await producer.cancel('email.send', id)).toMatchObject({ state: 'cancelled', previousState: 'delayed' });
    await expect(producer.cancel('email.send', id)).rejects.toBeInstanceOf(JobNotFoundError);
  });
});
