import { describe, expect, it } from 'vitest';
import { defineCatalog, fleetLimitsProblems } from './index.ts';

describe('queue fleet limits', () => {
  it('accepts integer limits of at least 1, and their absence', () => {
    expect(fleetLimitsProblems({})).toEqual([]);
    expect(fleetLimitsProblems({ globalConcurrency: 1, rateLimit: { max: 1, durationMs: 1 } })).toEqual([]);
    expect(() =>
      defineCatalog({ fine: { description: 'x', globalConcurrency: 3, rateLimit: { max: 100, durationMs: 1_000 } } }, []),
    ).not.toThrow();
  });

  it('names every bad limit', () => {
    expect(fleetLimitsProblems({ globalConcurrency: 0, rateLimit: { max: 2.5, durationMs: -1 } })).toEqual([
      'globalConcurrency must be an integer ≥ 1',
      'rateLimit.max must be an integer ≥ 1',
      'rateLimit.durationMs must be an integer ≥ 1',
    ]);
    expect(fleetLimitsProblems({ globalConcurrency: Number.NaN })).toHaveLength(1);
  });

  it('refuses a catalog queue with a limit BullMQ cannot enforce', () => {
    expect(() => defineCatalog({ bad: { description: 'x', globalConcurrency: 0 } }, [])).toThrow(
      /queue "bad" has bad fleet limits: globalConcurrency must be an integer ≥ 1/,
    );
    expect(() => defineCatalog({ bad: { description: 'x', rateLimit: { max: 10, durationMs: 0.5 } } }, [])).toThrow(
      /queue "bad" has bad fleet limits: rateLimit.durationMs must be an integer ≥ 1/,
    );
  });
});
