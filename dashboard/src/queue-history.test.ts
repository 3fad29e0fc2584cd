import { MINUTE_MS, snapshotQueue, queuePrefix } from '@conveyor/shared';
import { testPrefix } from '@conveyor/shared/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createHistoryReader } from './queue-history.ts';

const opened: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((close) => close()));
});

describe('the queue history API’s step in progress', () => {
  it('ends with a partial point whose rates cover the seconds elapsed in the current minute', async () => {
    const prefix = testPrefix('qh-partial');
    const redis = new Redis(inject('redisUrl'));
    opened.push(async () => redis.disconnect());
    const email = new Queue('email', { connection: { url: inject('redisUrl') }, prefix: queuePrefix(prefix, 'email') });
    opened.push(() => email.close());
    // The dashboard's clock stands 40 s into a minute of the past; the minute's first snapshot was at 10 s.
    const minuteMs = (Math.floor(Date.now() / MINUTE_MS) - 30) * MINUTE_MS;
    const nowMs = minuteMs + 40_000;
    await snapshotQueue(redis, { prefix, queue: 'email', nowMs: minuteMs - MINUTE_MS + 5_000, historyTtlSec: 3_600 });
    await snapshotQueue(redis, { prefix, queue: 'email', nowMs: minuteMs + 10_000, historyTtlSec: 3_600 });
    await email.addBulk(Array.from({ length: 45 }, (_, i) => ({ name: 'email.send', data: { to: `p${i}@example.com`, subject: 's', body: 'b' }, opts: { delay: 3_600_000 } })));

    const reader = createHistoryReader({ redis, prefix, timeoutMs: 5_000, historyTtlSec: 3_600, now: () => nowMs });
    const history = await reader.read('email', '1h');
    const last = history.points.at(-1)!;
    expect(last).toMatchObject({ fromMs: minuteMs, toMs: nowMs, partial: true, arrivalRate: 45 / 30, completionRate: 0 });
    // The minute before is whole: closed by the current minute's first snapshot, never partial.
    expect(history.points.at(-2)).toMatchObject({ fromMs: minuteMs - MINUTE_MS, toMs: minuteMs, partial: false, arrivalRate: 0 });
    expect(history.points.filter((p) => p.partial)).toHaveLength(1);
  });
});
