import { createDeadLetterStore, jobKinds, redisConnectionOptions, type DeadLetterStore } from '@conveyor/shared';
import { waitFor } from '@conveyor/shared/testing';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { WORKER_IDENTITY } from './attempt-log.ts';
import { loadWorkerConfig } from './config.ts';
import { startDeadLetterSweep, type DeadLetterSweep } from './dead-letter-sweep.ts';
import { createHandlers } from './handlers/index.ts';
import { PermanentJobError } from './permanent-error.ts';
import { createJobHarness, fastHandlerDeps, silentLogger, type JobHarness } from './testing/job-harness.ts';

const email = jobKinds['email.send'].example;
const fastRetry = { backoff: { type: 'fixed' as const, delay: 10 } };

let harness: JobHarness;
let store: DeadLetterStore;
let sweep: DeadLetterSweep | undefined;

function setUp(): void {
  harness = createJobHarness();
  store = createDeadLetterStore({
    connection: redisConnectionOptions({ url: inject('redisUrl'), mode: 'wait-out' }),
    prefix: harness.prefix,
    logger: silentLogger,
  });
}

afterEach(async () => {
  await sweep?.stop();
  sweep = undefined;
  await harness.close();
  await store.close();
});

/** Handlers whose email.send does `run` instead of sending. */
const emailHandlers = (run: () => Promise<never>) => ({ ...createHandlers(fastHandlerDeps), 'email.send': run });

const recordOf = (id: string) => waitFor(() => store.get('email', id), { what: `the dead-letter record of ${id}` });

describe('dead-lettering in the worker', () => {
  it('dead-letters a job after its last attempt, with every attempt\'s error, stack, time and worker', async () => {
    setUp();
    let runs = 0;
    harness.startWorker('email', {
      deadLetters: store,
      handlers: emailHandlers(async () => {
        runs++;
        throw new Error(`smtp down (run ${runs})`);
      }),
    });
    const job = await harness.add('email.send', email, { ...fastRetry, attempts: 3, jobId: 'always-fails' });

    const record = await recordOf(job.id!);

    expect(runs).toBe(3);
    expect(record).toMatchObject({ id: 'always-fails', sourceQueue: 'email', name: 'email.send', data: email, reason: 'error', attemptsMade: 3, worker: WORKER_IDENTITY });
    expect(record.attempts).toEqual([1, 2, 3].map((attempt) => ({
      attempt,
      class: 'error',
      message: `smtp down (run ${attempt})`,
      stack: expect.stringContaining(`Error: smtp down (run ${attempt})`),
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      worker: WORKER_IDENTITY,
    })));
    // The record is written first and the source job removed second (dead-letter.ts): the
    // record can be seen a moment before the job is gone.
    await waitFor(async () => (await harness.queue('email').getJobState(job.id!)) === 'unknown', {
      what: 'the dead-lettered job to leave its queue',
    });
    expect(await harness.queue('email').getJobState(job.id!)).toBe('unknown');
    expect(await store.count('email')).toBe(1);
  });

  it('records timeouts as their own class', async () => {
    setUp();
    harness.startWorker('email', { deadLetters: store, timeoutMs: { 'email.send': 50 }, handlers: emailHandlers(() => new Promise<never>(() => {})) });
    const job = await harness.add('email.send', email, { ...fastRetry, attempts: 2 });

    const record = await recordOf(job.id!);
    expect(record.reason).toBe('timeout');
    expect(record.attempts.map((a) => [a.attempt, a.class, a.message])).toEqual([
      [1, 'timeout', 'timeout after 50 ms'],
      [2, 'timeout', 'timeout after 50 ms'],
    ]);
  });

  it('dead-letters a poison payload as `validation` after one attempt', async () => {
    setUp();
    harness.startWorker('email', { deadLetters: store });
    // A plain BullMQ client, not the producer: nothing checked the payload.
    const job = await harness.queue('email').add('email.send', { to: 'not-an-email' }, { attempts: 5, jobId: 'poison' });

    const record = await recordOf(job.id!);
    expect(record).toMatchObject({ reason: 'validation', attemptsMade: 1, data: { to: 'not-an-email' } });
    expect(record.attempts).toHaveLength(1);
    expect(record.attempts[0]!.message).toMatch(/^validation: data\.to: Invalid email address; data\.subject: /);
  });

  it('dead-letters an unknown job name as `validation` and a permanent error as `permanent`, each after one attempt', async () => {
    setUp();
    harness.startWorker('email', {
      deadLetters: store,
      handlers: emailHandlers(async () => {
        throw new PermanentJobError('mailbox does not exist');
      }),
    });
    const unknown = await harness.queue('email').add('email.fax', {}, { attempts: 5, jobId: 'fax' });
    const permanent = await harness.add('email.send', email, { attempts: 5, jobId: 'no-mailbox' });

    expect(await recordOf(unknown.id!)).toMatchObject({ reason: 'validation', attemptsMade: 1, name: 'email.fax' });
    const record = await recordOf(permanent.id!);
    expect(record).toMatchObject({ reason: 'permanent', attemptsMade: 1, failedReason: 'mailbox does not exist' });
    expect(record.attempts.map((a) => a.class)).toEqual(['permanent']);
  });

  it('leaves a job whose attempts remain alone, and records the one that fails for good', async () => {
    setUp();
    let runs = 0;
    harness.startWorker('email', {
      deadLetters: store,
      handlers: emailHandlers(async () => {
        runs++;
        throw new Error('flaky');
      }),
    });
    const job = await harness.add('email.send', email, { backoff: { type: 'fixed', delay: 300 }, attempts: 2 });
    await waitFor(() => runs === 1, { what: 'the first attempt' });
    expect(await store.count('email')).toBe(0);
    expect(await harness.queue('email').getJobState(job.id!)).toBe('delayed');
    expect((await recordOf(job.id!)).attempts).toHaveLength(2);
  });
});

describe('the dead-letter sweep', () => {
  it('dead-letters failed jobs a worker left without a record, then trims the DLQ', async () => {
    setUp();
    // A worker without dead-lettering: as if it crashed between "failed" and "recorded".
    harness.startWorker('email', {
      concurrency: 1,
      handlers: emailHandlers(async () => {
        throw new Error('boom');
      }),
    });
    await harness.add('email.send', email, { attempts: 1, jobId: 'orphan-1' });
    await harness.add('email.send', email, { attempts: 1, jobId: 'orphan-2' });
    await waitFor(async () => (await harness.queue('email').getFailedCount()) === 2, { what: 'both jobs failed' });
    expect(await store.count('email')).toBe(0);

    sweep = startDeadLetterSweep({
      store,
      queues: ['email'],
      intervalMs: 50,
      graceMs: 0,
      retention: { maxAgeMs: 3_600_000, maxCount: 1 },
      logger: silentLogger,
    });
    await sweep.nextRound();

    expect(await harness.queue('email').getFailedCount()).toBe(0);
    // Both were recorded; retention kept the newest one.
    expect((await store.list({ queue: 'email' })).records.map((r) => [r.id, r.reason, r.attempts[0]?.worker])).toEqual([['orphan-2', 'error', WORKER_IDENTITY]]);
    expect(await store.audit('email')).toEqual([expect.objectContaining({ action: 'trim', by: 'retention', ids: ['orphan-1'] })]);
  });

  it('runs no round after it was stopped', async () => {
    setUp();
    const local = startDeadLetterSweep({ store, queues: ['email'], intervalMs: 10, retention: { maxAgeMs: 60_000, maxCount: 10 }, logger: silentLogger });
    await local.nextRound();
    await local.stop();
    await expect(local.nextRound()).rejects.toThrow(/stopped/);
  });
});

describe('dead-letter configuration', () => {
  it('defaults to 30 days, 100,000 records and a sweep every 15 s, and reads overrides', () => {
    expect(loadWorkerConfig({}).deadLetter).toEqual({ maxAgeMs: 30 * 86_400_000, maxCount: 100_000, sweepIntervalMs: 15_000 });
    expect(loadWorkerConfig({ DEAD_LETTER_MAX_AGE_DAYS: '2', DEAD_LETTER_MAX_COUNT: '50', DEAD_LETTER_SWEEP_MS: '1000' }).deadLetter).toEqual({
      maxAgeMs: 2 * 86_400_000,
      maxCount: 50,
      sweepIntervalMs: 1_000,
    });
    expect(() => loadWorkerConfig({ DEAD_LETTER_MAX_COUNT: '0', DEAD_LETTER_SWEEP_MS: 'often' })).toThrow(/DEAD_LETTER_MAX_COUNT[\s\S]*DEAD_LETTER_SWEEP_MS/);
  });
});
