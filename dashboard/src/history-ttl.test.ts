import { minuteKey, minuteOf } from '@conveyor/shared';
import { testPrefix, waitFor } from '@conveyor/shared/testing';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startDashboard, type DashboardFixture } from './dashboard-fixture.ts';

let dash: DashboardFixture | undefined;
afterEach(async () => {
  await dash?.close();
  dash = undefined;
});

describe('the dashboard’s counter snapshots', () => {
  it('expire with QUEUE_MODEL_HISTORY_DAYS, not a default of their own', async () => {
    const prefix = testPrefix('dash');
    dash = await startDashboard({ redisUrl: inject('redisUrl'), prefix, historyTtlSec: 3_600 });
    // The dashboard's Redis is fail-fast: until it has connected, reads answer 503.
    await waitFor(() => dash!.redis.status === 'ready', { what: 'the dashboard’s Redis connection' });
    const before = minuteOf(Date.now());
    const response = await fetch(`${dash.url}/api/queues`);
    expect(response.status).toBe(200);
    const after = minuteOf(Date.now());
    // The read took the minute's first snapshot, so it set the minute's expiry.
    const ttls = await Promise.all([before, after].map((m) => dash!.redis.ttl(minuteKey(prefix, 'email', m))));
    const ttl = Math.max(...ttls);
    expect(ttl).toBeGreaterThan(3_000);
    expect(ttl).toBeLessThanOrEqual(3_600);
  });
});
