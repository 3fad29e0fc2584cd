import { describe, expect, it } from 'vitest';
import type { QueueFigures, WindowFigures } from './reader.ts';
import {
  DEFAULT_WORKER_CONCURRENCY,
  defaultSlotsPerWorker,
  queueLoadOf,
  recommendedWorkers,
  recommendWorkers,
  type QueueLoad,
} from './recommended-workers.ts';

/** A load with nothing going on; each test says what differs. */
const idle: QueueLoad = { arrivalRate: 0, serviceMs: 50, backlog: 0, inService: 0, liveWorkers: 0, liveSlots: 0 };
const tenSlots = { defaultSlotsPerWorker: 10 };

describe('recommendWorkers', () => {
  it('recommends 0 for a queue that is idle and empty, measured or not', () => {
    expect(recommendWorkers(idle, tenSlots)).toMatchObject({ workers: 0, basis: 'idle' });
    expect(recommendWorkers({ ...idle, liveWorkers: 3, liveSlots: 30 }, tenSlots).workers).toBe(0);
    expect(recommendWorkers({ ...idle, arrivalRate: null, serviceMs: null }, tenSlots).workers).toBe(0);
  });

  it('keeps up with arrivals at the target utilization: 280 jobs/s × 50 ms = 14 busy slots, / 0.7 = 20 slots, 2 workers of 10', () => {
    const load = { ...idle, arrivalRate: 280, serviceMs: 50, liveWorkers: 1, liveSlots: 10 };
    const recommendation = recommendWorkers(load, tenSlots);
    expect(recommendation).toMatchObject({ workers: 2, basis: 'sized', drainSlots: 0, slotsPerWorker: 10 });
    expect(recommendation.steadySlots).toBeCloseTo(20, 9);
  });

  it('adds the slots that drain the backlog within the target: 6,000 jobs × 50 ms / 300 s = 1 slot more, 3 workers', () => {
    const load = { ...idle, arrivalRate: 280, serviceMs: 50, backlog: 6_000, liveWorkers: 1, liveSlots: 10 };
    const recommendation = recommendWorkers(load, tenSlots);
    expect(recommendation.drainSlots).toBeCloseTo(1, 9);
    expect(recommendation.workers).toBe(3);
  });

  it('sizes a worker by what the live ones run: 3 workers with 12 slots are 4 slots each', () => {
    // 10 jobs/s × 1 s = 10 busy slots, / 0.7 = 14.3 slots, / 4 = 3.6: 4 workers.
    const load = { ...idle, arrivalRate: 10, serviceMs: 1_000, liveWorkers: 3, liveSlots: 12 };
    expect(recommendWorkers(load, tenSlots)).toMatchObject({ workers: 4, slotsPerWorker: 4 });
  });

  it("uses the default slots per worker when none is live, and recommends at least one for any work", () => {
    // A report backlog of 10 jobs of 2 s with no worker: 10 × 2 / 300 = 0.07 slots, still 1 worker.
    const load = { ...idle, arrivalRate: null, serviceMs: 2_000, backlog: 10 };
    expect(recommendWorkers(load, { defaultSlotsPerWorker: 2 })).toMatchObject({ workers: 1, basis: 'sized', slotsPerWorker: 2 });
    // 900 of them: 900 × 2 / 300 = 6 slots, 3 workers of 2.
    expect(recommendWorkers({ ...load, backlog: 900 }, { defaultSlotsPerWorker: 2 }).workers).toBe(3);
    // A trickle of arrivals alone.
    expect(recommendWorkers({ ...idle, arrivalRate: 0.01, serviceMs: 5 }, tenSlots).workers).toBe(1);
  });

  it('counts the jobs in service as the busy slots until the arrival rate is measured', () => {
    // 8 in service / 0.7 = 11.4 slots over 4 slots per worker (2 live, 8 slots): 3 workers.
    const load = { ...idle, arrivalRate: null, serviceMs: 100, inService: 8, liveWorkers: 2, liveSlots: 8 };
    expect(recommendWorkers(load, tenSlots)).toMatchObject({ workers: 3, basis: 'sized' });
  });

  it('holds at max(1, live workers) when there is work but no service time to size it by', () => {
    const unmeasured = { ...idle, arrivalRate: null, serviceMs: null, backlog: 50 };
    expect(recommendWorkers(unmeasured, tenSlots)).toMatchObject({ workers: 1, basis: 'held' });
    expect(recommendWorkers({ ...unmeasured, liveWorkers: 3, liveSlots: 30 }, tenSlots)).toMatchObject({ workers: 3, basis: 'held' });
  });

  it('follows the targets it is given: utilization 1 and a 60 s drain', () => {
    // 20 jobs/s × 0.5 s = 10 slots; 1,200 × 0.5 / 60 = 10 slots; 20 slots are 2 workers of 10.
    const load = { ...idle, arrivalRate: 20, serviceMs: 500, backlog: 1_200 };
    expect(recommendWorkers(load, { ...tenSlots, targets: { targetUtilization: 1, drainSec: 60 } }).workers).toBe(2);
    // The defaults (0.7 and 300 s): 14.3 + 2 = 16.3 slots, still 2 workers.
    expect(recommendWorkers(load, tenSlots).workers).toBe(2);
  });

  it('does not round float noise up to one more worker', () => {
    // 7 × 0.1 / 0.7 is 1.0000000000000002 in floating point: exactly one slot.
    expect(recommendWorkers({ ...idle, arrivalRate: 7, serviceMs: 100, liveWorkers: 1, liveSlots: 1 }, tenSlots).workers).toBe(1);
  });

  it('refuses targets out of range', () => {
    for (const targets of [{ targetUtilization: 0 }, { targetUtilization: 1.5 }, { targetUtilization: Number.NaN }, { drainSec: 0 }]) {
      expect(() => recommendWorkers(idle, { ...tenSlots, targets }), JSON.stringify(targets)).toThrow(RangeError);
    }
    expect(() => recommendWorkers(idle, { defaultSlotsPerWorker: 0 })).toThrow(RangeError);
  });
});

describe('defaultSlotsPerWorker', () => {
  it("is the catalog's concurrency of the queue, else the worker's default of 10", () => {
    expect(defaultSlotsPerWorker('report')).toBe(2);
    expect(defaultSlotsPerWorker('email')).toBe(DEFAULT_WORKER_CONCURRENCY);
    expect(defaultSlotsPerWorker('not-a-queue')).toBe(10);
  });
});

function windowOf(arrivalRate: number | null, serviceMeanMs: number | null): WindowFigures {
  const latency = { count: serviceMeanMs === null ? 0 : 1, meanMs: serviceMeanMs, p50Ms: serviceMeanMs, p95Ms: serviceMeanMs, p99Ms: serviceMeanMs };
  return {
    fromMs: 0,
    toMs: 60_000,
    arrivalRate,
    completionRate: arrivalRate,
    ratesFromMs: arrivalRate === null ? null : 0,
    deadLetterRate: 0,
    wait: latency,
    service: latency,
    failureRate: null,
    retriesPerJob: null,
  };
}

function figuresOf(queue: string, load: { arrivalRate: number | null; serviceMeanMs: number | null; backlog: number; inService?: number; live?: number; concurrency?: number }): QueueFigures {
  return {
    queue,
    atMs: 60_000,
    backlog: { total: load.backlog, waiting: load.backlog, prioritized: 0, delayedDue: 0 },
    inService: load.inService ?? 0,
    delayedLater: 0,
    paused: 0,
    oldestWaitingAgeMs: null,
    totals: { arrived: 0, completed: 0, failedFinal: 0, failedAttempts: 0, deadLettered: 0 },
    windows: { '10s': windowOf(null, null), '1m': windowOf(load.arrivalRate, load.serviceMeanMs) },
    workers: { live: load.live ?? 0, concurrency: load.concurrency ?? 0 },
    utilization: null,
    drain: { state: 'unknown' },
  };
}

describe('recommendedWorkers over QueueFigures', () => {
  it("reads λ and S from the 1-minute window, the backlog, and the live workers' slots", () => {
    const figures = figuresOf('email', { arrivalRate: 280, serviceMeanMs: 50, backlog: 6_000, inService: 10, live: 1, concurrency: 10 });
    expect(queueLoadOf(figures)).toEqual({ arrivalRate: 280, serviceMs: 50, backlog: 6_000, inService: 10, liveWorkers: 1, liveSlots: 10 });
    expect(recommendedWorkers(figures)).toBe(3);
  });

  it("falls back to a longer-run service time, and to the catalog's slots per worker, for a queue scaled to zero", () => {
    // 600 report jobs, no worker for a minute: with the since-the-start mean of 2 s, 600 × 2 / 300 = 4 slots, 2 workers of 2.
    const figures = figuresOf('report', { arrivalRate: 0, serviceMeanMs: null, backlog: 600 });
    expect(recommendedWorkers(figures, { fallbackServiceMs: 2_000 })).toBe(2);
    // Without one it holds at one worker, which then measures S.
    expect(recommendedWorkers(figures)).toBe(1);
    // The minute's own mean wins over the fallback.
    expect(queueLoadOf(figuresOf('report', { arrivalRate: 0, serviceMeanMs: 100, backlog: 1 }), 2_000).serviceMs).toBe(100);
  });

  it('trusts the arrival rate only over 30 s or more: a burst just after the first snapshot is not a rate', () => {
    const figures = figuresOf('email', { arrivalRate: 600, serviceMeanMs: 4_000, backlog: 600, live: 1, concurrency: 4 });
    const minute = figures.windows['1m'];
    minute.ratesFromMs = minute.toMs - 2_000;
    // Over 2 s: λ is not used, and the backlog alone sizes it: 600 × 4 / 300 = 8 slots, 2 workers of 4.
    expect(queueLoadOf(figures).arrivalRate).toBeNull();
    expect(recommendedWorkers(figures)).toBe(2);
    minute.ratesFromMs = minute.toMs - 30_000;
    expect(queueLoadOf(figures).arrivalRate).toBe(600);
  });

  it('passes the targets through', () => {
    const figures = figuresOf('email', { arrivalRate: 20, serviceMeanMs: 500, backlog: 1_200 });
    expect(recommendedWorkers(figures, { targets: { targetUtilization: 1, drainSec: 60 } })).toBe(2);
    expect(recommendedWorkers(figures, { targets: { drainSec: 10 } })).toBe(8); // 14.3 + 60 = 74.3 slots
  });
});
