/**
 * The performance issue's targets, each checked in the run that measures it: ratios are
 * taken within one run (its variants ran round by round on the same machine), never
 * against figures of another day. A target the run misses is reported as a miss.
 */

export const TARGETS = {
  /** Conveyor's worker runtime ÷ raw BullMQ, drain throughput, at every concurrency. */
  conveyorVsBullmqDrain: { atLeast: 0.95 },
  /** Conveyor's worker runtime ÷ bee-queue, drain throughput, at concurrency ≥ 10. */
  conveyorVsBeeDrain: { atLeast: 1.0, fromConcurrency: 10 },
  /** Enqueue-to-start p99 of Conveyor at 2,000 jobs/s, ms. */
  latencyP99Ms: { atMost: 5, atRatePerSec: 2_000 },
  /** HTTP bulk ÷ raw `addBulk`, enqueue throughput. */
  httpBulkVsAddBulk: { atLeast: 0.8 },
  /** HTTP single ÷ raw `Queue.add`, 100 in flight. */
  httpSingleVsAdd: { atLeast: 0.4 },
  /** Redis bytes per waiting job, Conveyor's typed client ÷ raw BullMQ. */
  memoryPerJobVsBullmq: { atMost: 1.1 },
  /** Queue-model read time at 1M waiting ÷ at 1k. */
  modelReadLargeVsSmall: { atMost: 1.5 },
} as const;

/** One checked target, for the run's summary table. */
export interface TargetCheck {
  target: string;
  /** The figure and its bound: `0.97× (≥ 0.95×)`. */
  measured: string;
  met: boolean;
}

/** `0.97× (≥ 0.95×)` */
export const atLeast = (value: number, bound: number, unit = '×'): string => `${value.toFixed(2)}${unit} (≥ ${bound}${unit})`;

/** `1.02× (≤ 1.1×)` */
export const atMost = (value: number, bound: number, unit = '×'): string => `${value.toFixed(2)}${unit} (≤ ${bound}${unit})`;

/** The summary table of every target this run checked. */
export function targetLines(checks: readonly TargetCheck[]): string[] {
  const missed = checks.filter((c) => !c.met).length;
  return [
    `| target (same run): ${checks.length - missed} pass, ${missed} miss | measured (bound) | verdict |`,
    '|---|---|---|',
    ...checks.map((c) => `| ${c.target} | ${c.measured} | ${c.met ? 'pass' : '**miss**'} |`),
  ];
}
