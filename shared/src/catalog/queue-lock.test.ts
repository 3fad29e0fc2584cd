import { describe, expect, it } from 'vitest';
import { defineCatalog, defaultQueueLockSettings, lockSettingsProblems, queueDefinitions, queueLockSettings } from './index.ts';

describe('queue lock settings', () => {
  it('defaults to a 15 s lock checked every 10 s, one stall allowed', () => {
    expect(defaultQueueLockSettings).toEqual({ lockDurationMs: 15_000, stalledIntervalMs: 10_000, maxStalledCount: 1 });
    expect(queueLockSettings(queueDefinitions.email)).toEqual(defaultQueueLockSettings);
  });

  it("takes a queue definition's own values over the defaults", () => {
    expect(queueLockSettings({ description: 'slow', lockDurationMs: 60_000, maxStalledCount: 0 })).toEqual({
      lockDurationMs: 60_000,
      stalledIntervalMs: 10_000,
      maxStalledCount: 0,
    });
  });

  it('refuses a catalog queue with settings BullMQ cannot work with', () => {
    expect(lockSettingsProblems({ lockDurationMs: 500, stalledIntervalMs: 0, maxStalledCount: -1 })).toHaveLength(3);
    expect(lockSettingsProblems({ lockDurationMs: 4_000, lockRenewMs: 4_000 })).toEqual([
      'lockRenewMs must be an integer ≥ 100 and below the lock duration (4000)',
    ]);
    expect(lockSettingsProblems({ lockRenewMs: 7_500 })).toEqual([]);
    expect(() => defineCatalog({ bad: { description: 'x', lockDurationMs: 10 } }, [])).toThrow(
      /queue "bad" has bad lock settings: lockDurationMs must be an integer ≥ 1000/,
    );
  });
});
