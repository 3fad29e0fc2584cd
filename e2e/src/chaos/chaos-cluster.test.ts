/**
 * The short chaos run on a Redis Cluster (`npm run chaos -- --topology cluster` is the full
 * one): the cases that apply there, at their quick sizes, each on its own three-master
 * cluster — with a replica per master only in case 10, whose fault is a master's failover.
 * A case that does not apply on a cluster, or is left to the full run to keep this one near a
 * minute, is listed as skipped with its reason. As in chaos.test.ts, each case must report no problem and the figures that carry
 * its guarantee are checked again by name.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { chaosCases, formatTable, runCase, skipReason, type CaseResult, type ChaosOptions } from './cases.ts';

const results: CaseResult[] = [];

// The table lists the skipped cases with their reasons too: vitest's own report shows only a count.
afterAll(() => {
  if (results.some((r) => !r.skipped)) console.log(`chaos (quick, cluster):\n${formatTable(results.sort((a, b) => a.id - b.id))}`);
});

/** What each case's figures must show, beyond "no problem". */
const checks: Record<number, { behaviour: string; check(result: CaseResult): void }> = {
  1: {
    behaviour: 'SIGKILLed and restarted workers lose no job',
    check: ({ figures }) => {
      expect(figures.lost).toBe(0);
      expect(figures.completed).toBe(figures.acknowledged);
      expect(figures.kills).toBeGreaterThanOrEqual(3);
    },
  },
  5: {
    behaviour: 'a poison payload from a plain BullMQ client on the Cluster is dead-lettered as validation without retries',
    check: ({ figures }) => {
      expect(figures.reasons).toBe('validation / validation');
      expect(figures['runs (invalid payload / unknown kind)']).toBe('1 / 1');
    },
  },
  6: {
    behaviour: 'SIGTERM during long jobs loses none and leaves none active or stalled',
    check: ({ figures }) => {
      expect(figures['active after exit']).toBe(0);
      expect(figures.stalled).toBe(0);
      expect(figures.lost).toBe(0);
    },
  },
  8: {
    behaviour: 'a hanging handler times out and the worker keeps serving',
    check: ({ figures }) => {
      expect(figures['failure class']).toBe('timeout / timeout');
      expect(figures['other webhooks delivered']).toBe(10);
    },
  },
  10: {
    behaviour: 'producer and worker follow a SIGKILLed master’s promoted replica; durable enqueue loses nothing',
    check: ({ figures }) => {
      expect(figures['durable: acknowledged before the kill']).toBeGreaterThan(0);
      expect(figures['durable: failover s']).toBeGreaterThan(0);
      expect(figures['durable: lost']).toBe(0);
    },
  },
};

/** Cases that apply on a cluster but run only in the full run, and why. */
const fullRunOnly: Record<number, string> = {
  4: 'its 15 s are email.send’s backoff waits (1 + 2 + 4 + 8 s), computed alike on every topology; `npm run chaos -- --topology cluster` runs it',
};

// Case 10 fails over in durable mode only, the one with a guarantee to check (async's loss is a figure).
const options: ChaosOptions = { quick: true, topology: 'cluster', failoverModes: ['durable'] };

describe('chaos (quick) on a Redis Cluster', { timeout: 120_000 }, () => {
  for (const chaosCase of chaosCases) {
    const reason = skipReason(chaosCase, 'cluster') ?? fullRunOnly[chaosCase.id];
    const expected = checks[chaosCase.id];
    if (reason) {
      results.push({ id: chaosCase.id, title: chaosCase.title, fault: '—', figures: {}, problems: [], skipped: reason, durationMs: 0 });
      it.skip(`${chaosCase.id}: ${chaosCase.title} — not here: ${reason}`, () => {});
      continue;
    }
    if (!expected) {
      it(`${chaosCase.id}: ${chaosCase.title} has its checks here`, () => {
        expect.fail(`case ${chaosCase.id} runs on a cluster but chaos-cluster.test.ts does not check it`);
      });
      continue;
    }
    it(`${chaosCase.id}: ${expected.behaviour}`, async () => {
      const result = await runCase(chaosCase, options);
      results.push(result);
      expect(result.problems).toEqual([]);
      expected.check(result);
    });
  }
});
