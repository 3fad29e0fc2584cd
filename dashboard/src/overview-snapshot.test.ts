import type { HistoryPoint, LatencySummary, QueueFigures, WindowFigures } from '@conveyor/shared';
import { describe, expect, it } from 'vitest';
import { overviewFigures, overviewQueue, seriesFromHistory } from './overview-snapshot.ts';

const none: LatencySummary = { count: 0, meanMs: null, p50Ms: null, p95Ms: null, p99Ms: null };

function window(overrides: Partial<WindowFigures>): WindowFigures {
  return {
    fromMs: 0, toMs: 60_000, arrivalRate: null, completionRate: null, ratesFromMs: null, deadLetterRate: 0,
    wait: none, service: none, failureRate: null, retriesPerJob: null, ...overrides,
  };
}

/** Jobs ran 30 s ago: the last minute has samples, the last 10 seconds none. */
const figures: QueueFigures = {
  queue: 'email',
  atMs: 60_000,
  backlog: { total: 0, waiting: 0, prioritized: 0, delayedDue: 0 },
  inService: 0,
  delayedLater: 0,
  paused: 0,
  oldestWaitingAgeMs: null,
  totals: { arrived: 25, completed: 24, failedFinal: 0, failedAttempts: 1, deadLettered: 0 },
  windows: {
    '10s': window({ arrivalRate: 0, completionRate: 0 }),
    '1m': window({
      arrivalRate: 0.4,
      completionRate: 0.4,
      wait: { count: 25, meanMs: 40, p50Ms: 38, p95Ms: 83, p99Ms: 90 },
      service: { count: 25, meanMs: 100, p50Ms: 99, p95Ms: 101, p99Ms: 120 },
      failureRate: 1 / 25,
    }),
  },
  workers: { live: 1, concurrency: 10 },
  utilization: 0.004,
  drain: { state: 'empty' },
};

describe('the overview figures', () => {
  it('take λ, θ, W, S and failures from the one-minute window, as the queue page does, not the 10-second one', () => {
    expect(overviewFigures(figures)).toMatchObject({ arrivalRate: 0.4, completionRate: 0.4, waitP95Ms: 83, serviceP95Ms: 101, failureRate: 0.04, attempts: 25 });
  });

  it('colour a paused queue grey, and its failure rate only over enough attempts', () => {
    const summary = { name: 'email', description: '', paused: true, counts: {} as never };
    const row = (paused: boolean, failureRate: number, attempts: number) =>
      overviewQueue({
        name: 'email',
        description: '',
        summary: { ...summary, paused },
        figures: { ...figures, windows: { ...figures.windows, '1m': { ...figures.windows['1m'], failureRate, service: { ...none, count: attempts } } } },
        history: undefined,
        firingAlerts: 0,
      }).health;
    expect(row(true, 0.5, 100)).toEqual({ level: 'paused', reasons: [] });
    expect(row(false, 1, 1)).toEqual({ level: 'green', reasons: [] });
    expect(row(false, 0.5, 100).level).toBe('red');
  });
});

describe('the dead-lettered sparkline', () => {
  const point = (minute: number, inQueue: number | null, deadLettered: number): HistoryPoint => ({
    fromMs: minute * 60_000, toMs: (minute + 1) * 60_000 - 1, partial: false, arrivalRate: null, completionRate: null, inQueue,
    completedAttempts: 0, failedAttempts: 0, deadLettered, failureRate: null, wait: none, service: none,
  });

  it('counts the jobs dead-lettered in each minute, and leaves a minute the history never saw unknown', () => {
    const { series, deadLettered } = seriesFromHistory([point(0, null, 0), point(1, 4, 0), point(2, 4, 3), point(3, null, 2)], []);
    expect(series.deadLettered).toEqual([null, 0, 3, 2]);
    expect(deadLettered).toBe(5);
  });
});
