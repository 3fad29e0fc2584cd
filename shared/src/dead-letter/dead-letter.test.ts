import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../testing/index.ts';
import type { DeadLetterRecord } from './record.ts';
import { createDeadLetterHarness, type DeadLetterHarness } from './test-harness.ts';

const email = { to: 'ada@example.com', subject: 'Hi', body: 'Hello' };

let harness: DeadLetterHarness;
afterEach(async () => {
  await harness.close();
});

describe('deadLetter', () => {
  it('turns a job that exhausted its attempts into one record with every attempt, and removes it from failed', async () => {
    harness = createDeadLetterHarness();
    const job = await harness.failJob('email', 'email.send', email, [{ message: 'smtp down' }, { message: 'smtp busy' }, { message: 'timeout after 100 ms', class: 'timeout' }], {
      priority: 4,
    });
    expect(await job.getState()).toBe('failed');

    expect(await harness.store.deadLetter(job)).toEqual({ outcome: 'recorded', recordId: '~1' });

    expect(await harness.queue('email').getJobState(job.id!)).toBe('unknown');
    expect(await harness.store.count('email')).toBe(1);
    const record = await harness.store.get('email', job.id!);
    expect(record).toMatchObject({
      id: '~1',
      sourceQueue: 'email',
      sourceJobId: '1',
      name: 'email.send',
      data: email,
      opts: { attempts: 3, priority: 4 },
      reason: 'timeout',
      failedReason: 'timeout after 100 ms',
      attemptsMade: 3,
      worker: 'test-host:2',
      redriveCount: 0,
    });
    expect(record!.attempts).toEqual([
      expect.objectContaining({ attempt: 1, class: 'error', message: 'smtp down', stack: expect.stringContaining('Error: smtp down'), worker: 'test-host:0' }),
      expect.objectContaining({ attempt: 2, class: 'error', message: 'smtp busy', worker: 'test-host:1' }),
      expect.objectContaining({ attempt: 3, class: 'timeout', message: 'timeout after 100 ms', worker: 'test-host:2' }),
    ]);
    expect(record!.attempts.every((a) => !Number.isNaN(Date.parse(a.at)))).toBe(true);
    // The record sits in the paused DLQ's wait list, where bull-board shows it.
    expect(await harness.dlq('email').isPaused()).toBe(true);
    expect(await harness.dlq('email').getJobState('~1')).toBe('waiting');
  });

  it('leaves one record when a job is dead-lettered twice, even at once', async () => {
    harness = createDeadLetterHarness();
    const job = await harness.failJob('email', 'email.send', email, [{ message: 'boom' }], { jobId: 'twice' });
    const outcomes = await Promise.all([harness.store.deadLetter(job), harness.store.deadLetter(job)]);
    expect(outcomes.map((o) => o.outcome)).toContain('recorded');
    expect(await harness.store.deadLetter(job)).toEqual({ outcome: 'gone', recordId: 'twice' });
    expect(await harness.store.count('email')).toBe(1);
    expect((await harness.store.get('email', 'twice'))?.sourceJobId).toBe('twice');
  });

  it('does nothing to a job that is not in failed', async () => {
    harness = createDeadLetterHarness();
    const waiting = await harness.queue('email').add('email.send', email, { jobId: 'still-waiting' });
    expect((await harness.store.deadLetter(waiting)).outcome).toBe('not-failed');
    expect(await harness.store.count('email')).toBe(0);
    expect(await waiting.getState()).toBe('waiting');
  });
});

describe('the reconcile sweep', () => {
  it('dead-letters a failed job that was left without a record, inferring its class', async () => {
    harness = createDeadLetterHarness();
    // Failed by another client, no attempt line: as if the worker crashed before recording.
    const permanent = await harness.failJob('webhook', 'webhook.deliver', { url: 'https://example.com', event: 'e' }, [{ message: 'HTTP 404', log: false }], {
      attempts: 5,
      unrecoverable: true,
    });
    const stalled = await harness.failJob('webhook', 'webhook.deliver', { url: 'https://example.com', event: 'e' }, [
      { message: 'connection reset' },
      { message: 'job stalled more than allowable limit', log: false },
    ]);
    expect(await harness.queue('webhook').getFailedCount()).toBe(2);

    const result = await harness.store.sweep('webhook', { chunkSize: 1 });

    expect(result).toEqual({ examined: 2, recorded: 2, alreadyRecorded: 0, errors: 0 });
    expect(await harness.queue('webhook').getFailedCount()).toBe(0);
    expect(await harness.store.get('webhook', permanent.id!)).toMatchObject({ reason: 'permanent', attempts: [{ attempt: 1, class: 'permanent', message: 'HTTP 404' }] });
    const record = await harness.store.get('webhook', stalled.id!);
    expect(record?.reason).toBe('stalled');
    expect(record?.attempts.map((a) => a.class)).toEqual(['error', 'stalled']);
    expect(await harness.store.sweep('webhook')).toEqual({ examined: 0, recorded: 0, alreadyRecorded: 0, errors: 0 });
  });

  it('dead-letters a job BullMQ failed for stalling as `stalled`', async () => {
    harness = createDeadLetterHarness();
    const { connection, prefix } = harness;
    const added = await harness.queue('email').add('email.send', email, { attempts: 3, removeOnFail: false });
    // Taken by a "worker" that then dies: nobody renews its lock.
    const dying = harness.worker('email', null, { connection, prefix, lockDuration: 100 });
    expect((await dying.getNextJob('dead-token'))?.id).toBe(added.id);
    // Another worker's stalled-job check finds it; one stall is already too many.
    harness.worker('email', async () => {}, { connection, prefix, stalledInterval: 100, maxStalledCount: 0 });
    await waitFor(async () => (await harness.queue('email').getJobState(added.id!)) === 'failed', { what: 'the stalled job to fail' });

    expect(await harness.store.sweep('email')).toMatchObject({ recorded: 1 });
    const record = await harness.store.get('email', added.id!);
    expect(record).toMatchObject({ reason: 'stalled', failedReason: 'job stalled more than allowable limit', worker: null });
    expect(record?.attempts.map((a) => a.class)).toEqual(['stalled']);
  });

  it('only removes the source job when its record was written before a crash', async () => {
    harness = createDeadLetterHarness();
    const job = await harness.failJob('email', 'email.send', email, [{ message: 'boom' }], { jobId: 'half-done' });
    // The record exists (step c ran) but the job is still in failed (step d did not).
    await harness.seedRecord('email', { sourceJobId: 'half-done', name: 'email.send', enqueuedAt: new Date(job.timestamp).toISOString(), failedReason: 'original' });

    expect(await harness.store.sweep('email')).toMatchObject({ examined: 1, recorded: 0, alreadyRecorded: 1 });
    expect(await harness.queue('email').getJobState('half-done')).toBe('unknown');
    expect(await harness.store.count('email')).toBe(1);
    expect((await harness.store.get('email', 'half-done'))?.failedReason).toBe('original');
  });

  it('replaces the record of an earlier job that had the same id', async () => {
    harness = createDeadLetterHarness();
    await harness.seedRecord('email', { sourceJobId: 'reused', name: 'email.send', enqueuedAt: '2020-01-01T00:00:00.000Z', failedReason: 'old failure' });
    await harness.failJob('email', 'email.send', email, [{ message: 'new failure' }], { jobId: 'reused' });

    expect(await harness.store.sweep('email')).toMatchObject({ recorded: 1 });
    expect(await harness.store.count('email')).toBe(1);
    const record = (await harness.store.get('email', 'reused')) as DeadLetterRecord;
    expect(record.failedReason).toBe('new failure');
  });

  it('leaves jobs younger than the grace period to their worker', async () => {
    harness = createDeadLetterHarness();
    await harness.failJob('email', 'email.send', email, [{ message: 'boom' }]);
    expect(await harness.store.sweep('email', { graceMs: 60_000 })).toMatchObject({ examined: 0 });
    expect(await harness.queue('email').getFailedCount()).toBe(1);
  });
});
