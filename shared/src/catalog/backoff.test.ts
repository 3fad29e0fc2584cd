import { Backoffs, Queue, Worker, type Job } from 'bullmq';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { redisConnectionOptions } from '../redis.ts';
import { testPrefix, waitFor } from '../testing/index.ts';
import {
  customBackoffStrategy,
  defineCatalog,
  defineJobKind,
  jobOptionsFor,
  type AnyJobKind,
  type BackoffFunction,
} from './index.ts';

const schema = z.object({ n: z.number() });

function kindWith(backoff: AnyJobKind['policy']['backoff'], attempts = 5) {
  return defineJobKind({ name: 'test.run', queue: 'test', schema, description: 'a test kind', policy: { attempts, backoff }, example: { n: 1 } });
}

/** 100 ms per try made, or 5 s when the error asks to slow down. */
const linearUnlessSlowDown: BackoffFunction = (attemptsMade, error) => (error.message === 'slow down' ? 5_000 : 100 * attemptsMade);

/** The delays BullMQ computes for the kind's job options after failures 1…n, through our strategy. */
async function delaysOf(kind: AnyJobKind, failures: number, error = new Error('boom')): Promise<number[]> {
  const strategy = customBackoffStrategy((name) => (name === kind.name ? kind : undefined));
  const backoff = Backoffs.normalize(jobOptionsFor(kind).backoff!)!;
  const delays: number[] = [];
  for (let attemptsMade = 1; attemptsMade <= failures; attemptsMade++) {
    delays.push(Number(await Backoffs.calculate(backoff, attemptsMade, error, {} as never, strategy)));
  }
  return delays;
}

describe('backoff policies', () => {
  it('waits the same delay every time under fixed', async () => {
    expect(await delaysOf(kindWith({ type: 'fixed', delayMs: 250 }), 4)).toEqual([250, 250, 250, 250]);
  });

  it('doubles the delay under exponential and keeps jitter within its fraction', async () => {
    expect(await delaysOf(kindWith({ type: 'exponential', delayMs: 100 }), 4)).toEqual([100, 200, 400, 800]);
    const kind = kindWith({ type: 'exponential', delayMs: 1_000, jitter: 0.2 });
    for (let run = 0; run < 200; run++) {
      const delays = await delaysOf(kind, 4);
      delays.forEach((delay, index) => {
        const max = 1_000 * 2 ** index;
        expect(delay).toBeGreaterThanOrEqual(max * 0.8);
        expect(delay).toBeLessThanOrEqual(max);
      });
    }
  });

  it('asks a custom function with the tries made and the error', async () => {
    const kind = kindWith({ type: 'custom', delayMsFor: linearUnlessSlowDown });
    expect(jobOptionsFor(kind).backoff).toEqual({ type: 'custom:test.run' });
    expect(await delaysOf(kind, 3)).toEqual([100, 200, 300]);
    expect(await delaysOf(kind, 2, new Error('slow down'))).toEqual([5_000, 5_000]);
  });

  it('stops retrying when a custom function answers -1', async () => {
    const kind = kindWith({ type: 'custom', delayMsFor: () => -1 });
    expect(await delaysOf(kind, 1)).toEqual([-1]);
  });

  it('falls back to the default exponential backoff when a custom function fails or is unknown', async () => {
    const throwing = kindWith({ type: 'custom', delayMsFor: () => { throw new Error('bug'); } });
    const nonsense = kindWith({ type: 'custom', delayMsFor: () => Number.NaN });
    for (const kind of [throwing, nonsense]) {
      const [first = 0, second = 0] = await delaysOf(kind, 2);
      expect(first).toBeGreaterThanOrEqual(800);
      expect(first).toBeLessThanOrEqual(1_000);
      expect(second).toBeGreaterThanOrEqual(1_600);
      expect(second).toBeLessThanOrEqual(2_000);
    }
    const strategy = customBackoffStrategy(() => undefined);
    expect(strategy(1, 'custom:gone.kind', new Error('x'))).toBeLessThanOrEqual(1_000);
  });

  it('refuses a custom policy without a function', () => {
    const broken = kindWith({ type: 'custom', delayMsFor: 'soon' as unknown as BackoffFunction });
    expect(() => defineCatalog({ test: { description: 't' } }, [broken])).toThrow(/delayMsFor must be a function/);
  });
});

describe('a custom backoff under a real BullMQ worker', () => {
  const opened: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((resource) => resource.close()));
  });

  it('spaces the attempts of a failing job as the custom function says', async () => {
    const gapsMs = [300, 600, 150];
    const kind = kindWith({ type: 'custom', delayMsFor: (attemptsMade) => gapsMs[attemptsMade - 1] ?? 0 }, 4);
    const connection = redisConnectionOptions({ url: inject('redisUrl'), mode: 'wait-out' });
    const prefix = testPrefix('backoff');
    const queue = new Queue('test', { connection, prefix });
    queue.on('error', () => {});
    opened.push(queue);
    const startedAtMs: number[] = [];
    const worker = new Worker(
      'test',
      async (job: Job) => {
        startedAtMs.push(Date.now());
        throw new Error(`attempt ${job.attemptsMade + 1} fails`);
      },
      { connection, prefix, settings: { backoffStrategy: customBackoffStrategy((name) => (name === kind.name ? kind : undefined)) } },
    );
    worker.on('error', () => {});
    opened.push(worker);

    const job = await queue.add(kind.name, { n: 1 }, jobOptionsFor(kind));
    await waitFor(async () => (await queue.getJobState(job.id!)) === 'failed', { what: 'the job to fail for good' });

    expect(startedAtMs).toHaveLength(4);
    const gaps = startedAtMs.slice(1).map((at, index) => at - startedAtMs[index]!);
    gaps.forEach((gap, index) => {
      expect(gap).toBeGreaterThanOrEqual(gapsMs[index]!);
      expect(gap).toBeLessThan(gapsMs[index]! + 400);
    });
  });
});
