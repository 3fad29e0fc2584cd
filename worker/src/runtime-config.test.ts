import { ConfigError } from '@conveyor/shared';
import { describe, expect, it } from 'vitest';
import { loadWorkerConfig } from './config.ts';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadWorkerConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.variable}: ${p.message}`);
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('worker runtime settings', () => {
  it('takes lock settings from the catalog defaults, health and Redis gate defaults', () => {
    const config = loadWorkerConfig({});
    const defaults = { lockDurationMs: 15_000, stalledIntervalMs: 10_000, maxStalledCount: 1 };
    expect(config.locks).toEqual({ email: defaults, webhook: defaults, report: defaults });
    expect(config.jobTimeoutMs).toEqual({});
    expect(config.stuckAfterMs).toBe(60_000);
    expect(config.allowEviction).toBe(false);
  });

  it('lets the global env overrides win over the catalog, each on its own', () => {
    const config = loadWorkerConfig({ WORKER_QUEUES: 'email', WORKER_LOCK_DURATION_MS: '5000', WORKER_MAX_STALLED_COUNT: '0' });
    expect(config.locks).toEqual({ email: { lockDurationMs: 5_000, stalledIntervalMs: 10_000, maxStalledCount: 0 } });
  });

  it('reads WORKER_LOCK_RENEW_MS, and refuses a renewal no sooner than the lock expires', () => {
    const config = loadWorkerConfig({ WORKER_QUEUES: 'email', WORKER_LOCK_DURATION_MS: '6000', WORKER_LOCK_RENEW_MS: '1000' });
    expect(config.locks.email).toEqual({ lockDurationMs: 6_000, lockRenewMs: 1_000, stalledIntervalMs: 10_000, maxStalledCount: 1 });
    expect(problemsOf({ WORKER_LOCK_DURATION_MS: '5000', WORKER_LOCK_RENEW_MS: '5000' })).toEqual([
      'WORKER_LOCK_RENEW_MS: the lock of queue "email" (5000 ms) must last longer than its renewal interval (5000 ms)',
    ]);
    expect(problemsOf({ WORKER_LOCK_RENEW_MS: '50' })).toEqual([expect.stringMatching(/^WORKER_LOCK_RENEW_MS: /)]);
  });

  it('reads per-kind timeouts, WORKER_STUCK_AFTER_MS and REDIS_ALLOW_EVICTION', () => {
    const config = loadWorkerConfig({
      WORKER_JOB_TIMEOUT_MS: 'webhook.deliver=2000, report.generate = 60000',
      WORKER_STUCK_AFTER_MS: '1500',
      REDIS_ALLOW_EVICTION: 'true',
    });
    expect(config.jobTimeoutMs).toEqual({ 'webhook.deliver': 2_000, 'report.generate': 60_000 });
    expect(config.stuckAfterMs).toBe(1_500);
    expect(config.allowEviction).toBe(true);
  });

  it('names every bad runtime variable in one error', () => {
    const problems = problemsOf({
      WORKER_LOCK_DURATION_MS: '10',
      WORKER_STALLED_INTERVAL_MS: 'often',
      WORKER_MAX_STALLED_COUNT: '-1',
      WORKER_JOB_TIMEOUT_MS: 'sms.send=10,webhook.deliver,email.send=0',
      WORKER_STUCK_AFTER_MS: '5',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^WORKER_LOCK_DURATION_MS: /),
        expect.stringMatching(/^WORKER_STALLED_INTERVAL_MS: expected an integer/),
        expect.stringMatching(/^WORKER_MAX_STALLED_COUNT: expected an integer/),
        expect.stringMatching(/^WORKER_JOB_TIMEOUT_MS: unknown job kind "sms.send"; known kinds: email.send, webhook.deliver, report.generate/),
        expect.stringMatching(/^WORKER_JOB_TIMEOUT_MS: "webhook.deliver" is not kind=ms/),
        expect.stringMatching(/^WORKER_JOB_TIMEOUT_MS: timeout of "email.send" must be between 1 and/),
        expect.stringMatching(/^WORKER_STUCK_AFTER_MS: /),
      ]),
    );
  });
});
