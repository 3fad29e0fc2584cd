import { afterEach, describe, expect, it } from 'vitest';
import type { RedriveProgress } from './redrive.ts';
import { createDeadLetterHarness, type DeadLetterHarness } from './test-harness.ts';

let harness: DeadLetterHarness;
afterEach(async () => {
  await harness.close();
});

describe('redrive progress', () => {
  it('reports the counts once the selection is known and after every record, ending at the total', async () => {
    harness = createDeadLetterHarness();
    for (let i = 0; i < 4; i += 1) await harness.seedRecord('email', { sourceJobId: `p-${i}`, name: 'email.send', data: { to: 'a@example.com', subject: 's', body: 'b' } });
    // One of them is live again, one id does not exist: both count as done (skipped).
    await harness.queue('email').add('email.send', { to: 'a@example.com', subject: 's', body: 'b' }, { jobId: 'p-3' });
    const seen: RedriveProgress[] = [];

    const result = await harness.store.redrive({ queue: 'email', ids: ['p-0', 'p-1', 'p-2', 'p-3', 'nope'] }, { by: 'ada', onProgress: (p) => seen.push(p) });

    expect(result).toMatchObject({ matched: 4, redriven: 3 });
    expect(seen[0]).toEqual({ total: 5, done: 1, redriven: 0, skipped: 1, errors: 0 });
    expect(seen.map((p) => p.done)).toEqual([1, 2, 3, 4, 5]);
    expect(seen.at(-1)).toEqual({ total: 5, done: 5, redriven: 3, skipped: 2, errors: 0 });
    // Still one audit entry for the whole redrive.
    expect((await harness.store.audit('email')).map((entry) => entry.count)).toEqual([3]);
  });

  it('reports nothing in a dry run, and a listener that throws does not stop the redrive', async () => {
    harness = createDeadLetterHarness();
    await harness.seedRecord('email', { sourceJobId: 'q-0', name: 'email.send', data: { to: 'a@example.com', subject: 's', body: 'b' } });
    let calls = 0;
    await harness.store.redrive({ filter: { queue: 'email' } }, { by: 'ada', dryRun: true, onProgress: () => calls++ });
    expect(calls).toBe(0);

    const result = await harness.store.redrive({ filter: { queue: 'email' } }, {
      by: 'ada',
      onProgress: () => {
        throw new Error('listener bug');
      },
    });
    expect(result).toMatchObject({ matched: 1, redriven: 1, errors: [] });
  });
});
