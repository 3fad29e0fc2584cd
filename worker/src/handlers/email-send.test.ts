import { afterEach, describe, expect, it } from 'vitest';
import { createJobHarness, type JobHarness } from '../testing/job-harness.ts';

let harness: JobHarness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const fastRetries = { attempts: 3, backoff: { type: 'fixed', delay: 10 } } as const;

describe('email.send (simulated)', () => {
  it('sends, and answers a message id that stays the same for the same job', async () => {
    harness = createJobHarness();
    harness.startWorker('email');
    const job = await harness.add('email.send', { to: 'ada@example.com', subject: 'Hi', body: 'Hello' });
    const done = await harness.finished('email', job.id!);
    expect(await done.getState()).toBe('completed');
    expect(done.returnvalue).toEqual({ to: 'ada@example.com', messageId: expect.stringMatching(/^<[0-9a-f]{24}@conveyor\.local>$/) });
  });

  it('fails an address in the reserved .invalid domain as a temporary error, retried until attempts run out', async () => {
    harness = createJobHarness();
    harness.startWorker('email');
    const job = await harness.add('email.send', { to: 'nobody@mx.example.invalid', subject: 'Hi', body: '' }, fastRetries);
    const done = await harness.finished('email', job.id!);
    expect(await done.getState()).toBe('failed');
    expect(done.attemptsMade).toBe(3);
    expect(done.failedReason).toBe('451 4.4.0 temporary failure: the domain "mx.example.invalid" does not resolve');
  });
});
