import { describe, expect, it } from 'vitest';
import { MIN_ATTEMPTS_FOR_FAILURE_RATE, queueHealth, type HealthInput } from './queue-health.ts';

const quiet: HealthInput = {
  backlog: 0,
  liveWorkers: 1,
  utilization: 0.1,
  failureRate: null,
  attempts: 0,
  paused: false,
  oldestWaitingMs: null,
  growing: false,
  deadLetteredLastHour: 0,
  firingAlerts: 0,
};

describe('queue health', () => {
  it('is green for a quiet queue and unknown without figures', () => {
    expect(queueHealth(quiet)).toEqual({ level: 'green', reasons: [] });
    expect(queueHealth(null)).toEqual({ level: 'unknown', reasons: [] });
  });

  it('ignores the failure rate of too few attempts: one failure of one attempt stays green', () => {
    expect(queueHealth({ ...quiet, failureRate: 1, attempts: 1 })).toEqual({ level: 'green', reasons: [] });
    expect(queueHealth({ ...quiet, failureRate: 0.5, attempts: MIN_ATTEMPTS_FOR_FAILURE_RATE - 1 }).level).toBe('green');
  });

  it('colours by failure rate once the window has enough attempts', () => {
    const attempts = MIN_ATTEMPTS_FOR_FAILURE_RATE;
    expect(queueHealth({ ...quiet, failureRate: 0.25, attempts })).toEqual({ level: 'red', reasons: ['failure rate ≥ 20 %', 'failure rate ≥ 5 %'] });
    expect(queueHealth({ ...quiet, failureRate: 0.05, attempts })).toEqual({ level: 'amber', reasons: ['failure rate ≥ 5 %'] });
  });

  it('shows a paused queue as paused, whatever else applies', () => {
    const stopped = { ...quiet, paused: true, backlog: 40, liveWorkers: 0, growing: true, oldestWaitingMs: 600_000 };
    expect(queueHealth(stopped)).toEqual({ level: 'paused', reasons: [] });
    expect(queueHealth({ ...stopped, paused: false }).level).toBe('red');
  });
});
