import { afterEach, describe, expect, it } from 'vitest';
import { DeadLetterEditError } from './redrive.ts';
import { createDeadLetterHarness, type DeadLetterHarness } from './test-harness.ts';

const email = { to: 'ada@example.com', subject: 'Hi', body: 'Hello' };

let harness: DeadLetterHarness;
afterEach(async () => {
  await harness.close();
});

/** Fails `count` email jobs for good and dead-letters them; returns their source ids. */
async function deadLetterEmails(h: DeadLetterHarness, count: number, options: { message?: string; attempts?: number } = {}): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const failures = Array.from({ length: options.attempts ?? 1 }, () => ({ message: options.message ?? `boom ${i}` }));
    const job = await h.failJob('email', 'email.send', { ...email, subject: `Hi ${i}` }, failures, { jobId: `mail-${i}`, backoff: { type: 'fixed', delay: 0 } });
    await h.store.deadLetter(job);
    ids.push(job.id!);
  }
  return ids;
}

describe('redrive', () => {
  it('re-adds one record under its own id with its options and full attempts, and audits who did it', async () => {
    harness = createDeadLetterHarness();
    await deadLetterEmails(harness, 1, { attempts: 3 });

    const result = await harness.store.redrive({ queue: 'email', ids: ['mail-0'] }, { by: 'ada' });

    expect(result).toEqual({ dryRun: false, matched: 1, redriven: 1, skipped: [], errors: [] });
    expect(await harness.store.count('email')).toBe(0);
    const job = await harness.queue('email').getJob('mail-0');
    expect(await job!.getState()).toBe('waiting');
    expect(job!.data).toEqual({ ...email, subject: 'Hi 0' });
    expect(job!.attemptsMade).toBe(0);
    expect(job!.opts).toMatchObject({ attempts: 3, backoff: { type: 'fixed', delay: 0 }, removeOnFail: false });
    expect(await harness.store.audit('email')).toEqual([
      { at: expect.any(String), by: 'ada', action: 'redrive', queue: 'email', ids: ['mail-0'], count: 1, edited: false },
    ]);
  });

  it('remembers the redrive in the record written when the job fails again', async () => {
    harness = createDeadLetterHarness();
    await deadLetterEmails(harness, 1);
    await harness.store.redrive({ queue: 'email', ids: ['mail-0'] }, { by: 'ada' });
    // The add inside failJob is a no-op (the redriven job holds the id); it fails that job.
    const again = await harness.failJob('email', 'email.send', email, [{ message: 'still down' }], { jobId: 'mail-0' });
    expect(await again.getState()).toBe('failed');
    await harness.store.deadLetter(again);

    const record = await harness.store.get('email', 'mail-0');
    expect(record).toMatchObject({ failedReason: 'still down', redriveCount: 1, redrives: [{ by: 'ada', newJobId: 'mail-0', edited: false, at: expect.any(String) }] });
  });

  it('redrives a job with an integer id under its record id, and gives one attempt without a reset', async () => {
    harness = createDeadLetterHarness();
    const job = await harness.failJob('email', 'email.send', email, [{ message: 'a' }, { message: 'b' }]);
    await harness.store.deadLetter(job);
    expect(job.id).toBe('1');

    expect(await harness.store.redrive({ queue: 'email', ids: ['1'] }, { by: 'ada', resetAttempts: false })).toMatchObject({ redriven: 1 });
    const redriven = await harness.queue('email').getJob('~1');
    expect(redriven?.opts.attempts).toBe(1);
  });

  it('counts a selection in a dry run without changing anything, then redrives exactly it', async () => {
    harness = createDeadLetterHarness();
    await deadLetterEmails(harness, 4);

    const dry = await harness.store.redrive({ queue: 'email', ids: ['mail-1', 'mail-3', 'nope'] }, { by: 'ada', dryRun: true });
    expect(dry).toEqual({ dryRun: true, matched: 2, redriven: 0, skipped: [{ queue: 'email', id: 'nope', reason: 'not-found' }], errors: [] });
    expect(await harness.store.count('email')).toBe(4);
    expect(await harness.queue('email').getWaitingCount()).toBe(0);

    await expect(harness.store.redrive({ queue: 'email', ids: ['mail-1'] }, { by: ' ' })).rejects.toThrow(/non-empty `by`/);
    await expect(harness.store.redrive({ filter: { queue: 'sms' } }, { by: 'ada' })).rejects.toThrow(/unknown queue "sms"/);
    const done = await harness.store.redrive({ queue: 'email', ids: ['mail-1', 'mail-3'] }, { by: 'ada' });
    expect(done.redriven).toBe(2);
    expect((await harness.store.list()).records.map((r) => r.id).sort()).toEqual(['mail-0', 'mail-2']);
  });

  it('redrives everything matching a filter, at the rate asked for', async () => {
    harness = createDeadLetterHarness();
    await deadLetterEmails(harness, 5, { message: 'smtp down' });
    await harness.seedRecord('email', { sourceJobId: 'other', name: 'email.send', failedReason: 'unrelated' });

    expect(await harness.store.redrive({ filter: { text: 'smtp' } }, { by: 'ops', dryRun: true })).toMatchObject({ matched: 5, redriven: 0 });
    const startedMs = Date.now();
    const result = await harness.store.redrive({ filter: { text: 'smtp' } }, { by: 'ops', ratePerSec: 10 });
    const elapsedMs = Date.now() - startedMs;

    expect(result).toMatchObject({ matched: 5, redriven: 5 });
    // Five jobs at 10/s: the last starts no sooner than 400 ms after the first.
    expect(elapsedMs).toBeGreaterThanOrEqual(400);
    expect(await harness.queue('email').getWaitingCount()).toBe(5);
    expect((await harness.store.list()).records.map((r) => r.id)).toEqual(['other']);
    const [entry] = await harness.store.audit('email');
    expect(entry).toMatchObject({ by: 'ops', action: 'redrive', count: 5 });
  });

  it('applies a payload edit that passes the schema', async () => {
    harness = createDeadLetterHarness();
    await deadLetterEmails(harness, 2);
    const result = await harness.store.redrive(
      { queue: 'email', ids: ['mail-0', 'mail-1'] },
      { by: 'ada', edit: (data) => ({ ...(data as object), to: 'fixed@example.com' }) },
    );
    expect(result.redriven).toBe(2);
    const jobs = await harness.queue('email').getJobs(['waiting']);
    expect(jobs.map((job) => job.data.to)).toEqual(['fixed@example.com', 'fixed@example.com']);
    expect((await harness.store.audit('email'))[0]?.edited).toBe(true);
  });

  it('refuses an edit that fails the schema, naming the fields, and redrives nothing', async () => {
    harness = createDeadLetterHarness();
    await deadLetterEmails(harness, 2);
    const attempt = harness.store.redrive({ queue: 'email', ids: ['mail-0', 'mail-1'] }, { by: 'ada', edit: { to: 'not-an-email', subject: 'x', body: 'y' } });
    const error = await attempt.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadLetterEditError);
    expect((error as DeadLetterEditError).details).toEqual([
      { queue: 'email', id: 'mail-0', issues: [{ field: 'data.to', message: 'Invalid email address' }] },
      { queue: 'email', id: 'mail-1', issues: [{ field: 'data.to', message: 'Invalid email address' }] },
    ]);
    expect((error as Error).message).toMatch(/data\.to: Invalid email address/);
    expect(await harness.store.count('email')).toBe(2);
    expect(await harness.queue('email').getWaitingCount()).toBe(0);
    expect(await harness.store.audit('email')).toEqual([]);
  });

  it('skips a record whose job id is live, never making a second copy, and is idempotent', async () => {
    harness = createDeadLetterHarness();
    await deadLetterEmails(harness, 1);
    // Someone enqueued the same id again meanwhile.
    await harness.queue('email').add('email.send', email, { jobId: 'mail-0' });

    const dry = await harness.store.redrive({ queue: 'email', ids: ['mail-0'] }, { by: 'ada', dryRun: true });
    expect(dry.skipped).toEqual([{ queue: 'email', id: 'mail-0', reason: 'live' }]);
    const result = await harness.store.redrive({ queue: 'email', ids: ['mail-0'] }, { by: 'ada' });
    expect(result).toMatchObject({ matched: 1, redriven: 0, skipped: [{ queue: 'email', id: 'mail-0', reason: 'live' }] });
    expect(await harness.store.count('email')).toBe(1);
    expect(await harness.queue('email').getWaitingCount()).toBe(1);

    // Redriving twice at once: one copy.
    await harness.queue('email').remove('mail-0');
    const both = await Promise.all([
      harness.store.redrive({ queue: 'email', ids: ['mail-0'] }, { by: 'a' }),
      harness.store.redrive({ queue: 'email', ids: ['mail-0'] }, { by: 'b' }),
    ]);
    expect(both.map((r) => r.redriven).sort()).toEqual([0, 1]);
    expect(await harness.queue('email').getWaitingCount()).toBe(1);
    expect(await harness.store.count('email')).toBe(0);
  });
});
