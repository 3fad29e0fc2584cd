import { jobKinds } from '@conveyor/shared';
import type { JobsOptions } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { createHandlers } from './handlers/index.ts';
import { createJobHarness, fastHandlerDeps, type JobHarness } from './testing/job-harness.ts';

let harness: JobHarness;
afterEach(async () => {
  await harness.close();
});

/** Runs an email.send that always fails under `options`; returns when each attempt started, in ms. */
async function attemptStarts(options: JobsOptions): Promise<number[]> {
  harness = createJobHarness();
  const startedAtMs: number[] = [];
  harness.startWorker('email', {
    handlers: {
      ...createHandlers(fastHandlerDeps),
      'email.send': async () => {
        startedAtMs.push(Date.now());
        throw new Error('smtp refused');
      },
    },
  });
  const job = await harness.add('email.send', jobKinds['email.send'].example, options);
  const done = await harness.finished('email', job.id!, 15_000);
  expect(await done.getState()).toBe('failed');
  expect(done.attemptsMade).toBe(options.attempts);
  return startedAtMs;
}

function gapsOf(startedAtMs: number[]): number[] {
  return startedAtMs.slice(1).map((at, index) => at - startedAtMs[index]!);
}

/** Slack for fetching a job whose delay ran out: the worker is woken by BullMQ's marker. */
const SLACK_MS = 400;

describe('retry spacing on a real Redis', () => {
  it('waits the fixed delay between attempts', async () => {
    const gaps = gapsOf(await attemptStarts({ attempts: 4, backoff: { type: 'fixed', delay: 300 } }));
    expect(gaps).toHaveLength(3);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(300);
      expect(gap).toBeLessThan(300 + SLACK_MS);
    }
  });

  it('doubles the delay between attempts under exponential backoff, jitter only shortening it', async () => {
    const gaps = gapsOf(await attemptStarts({ attempts: 4, backoff: { type: 'exponential', delay: 150, jitter: 0.5 } }));
    expect(gaps).toHaveLength(3);
    gaps.forEach((gap, index) => {
      const max = 150 * 2 ** index;
      expect(gap).toBeGreaterThanOrEqual(max * 0.5);
      expect(gap).toBeLessThan(max + SLACK_MS);
    });
  });
});

describe('worker options', () => {
  it("runs each queue with its lock settings, a 5 s drain delay and the catalog's custom backoffs", () => {
    harness = createJobHarness();
    const defaults = harness.startWorker('email', { autorun: false });
    expect(defaults.opts).toMatchObject({ lockDuration: 15_000, stalledInterval: 10_000, maxStalledCount: 1, drainDelay: 5 });
    expect(defaults.isRunning()).toBe(false);

    const tuned = harness.startWorker('report', {
      autorun: false,
      locks: { lockDurationMs: 4_000, stalledIntervalMs: 1_000, maxStalledCount: 3 },
    });
    expect(tuned.opts).toMatchObject({ lockDuration: 4_000, lockRenewTime: 2_000, stalledInterval: 1_000, maxStalledCount: 3 });
    const renewed = harness.startWorker('webhook', { autorun: false, locks: { lockDurationMs: 4_000, lockRenewMs: 500, stalledIntervalMs: 1_000, maxStalledCount: 1 } });
    expect(renewed.opts).toMatchObject({ lockDuration: 4_000, lockRenewTime: 500 });
    // Not a custom kind: the strategy falls back to the default exponential backoff (1 s, 20 % jitter).
    const delay = Number(tuned.opts.settings?.backoffStrategy?.(1, 'custom:report.generate', new Error('x')));
    expect(delay).toBeGreaterThanOrEqual(800);
    expect(delay).toBeLessThanOrEqual(1_000);
  });
});
