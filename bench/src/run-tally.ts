/**
 * How often each job of a drain ran, from the sequence numbers the worker processes noted at
 * each handler run (drain-process.ts `countRuns`). In a drain without faults every job runs
 * exactly once; a second run of a job is a duplicate execution, a job that never ran is missing.
 */

export interface RunTally {
  /** Handler runs noted, over every process. */
  runs: number;
  /** Runs beyond the first of a job: Σ max(0, runs of job − 1). */
  duplicates: number;
  /** Jobs of the drain that never ran. */
  missing: number;
  /** Runs whose sequence number is not one of the drain's jobs (0 … jobs − 1). */
  unknown: number;
  /** Jobs each process ran (its share of the work), in process order. */
  byProcess: number[];
}

/** Tallies the runs each process noted (`runsByProcess[p]`: sequence numbers) for a drain of `jobs` jobs numbered 0 … jobs − 1. */
export function tallyRuns(runsByProcess: readonly (readonly number[])[], jobs: number): RunTally {
  const timesRun = new Uint32Array(jobs);
  let unknown = 0;
  for (const runs of runsByProcess) {
    for (const sequence of runs) {
      if (Number.isInteger(sequence) && sequence >= 0 && sequence < jobs) timesRun[sequence]!++;
      else unknown++;
    }
  }
  let duplicates = 0;
  let missing = 0;
  for (const n of timesRun) {
    if (n === 0) missing++;
    else duplicates += n - 1;
  }
  return { runs: runsByProcess.reduce((sum, runs) => sum + runs.length, 0), duplicates, missing, unknown, byProcess: runsByProcess.map((runs) => runs.length) };
}

/** `0 duplicate, 0 missing` (and unknown runs, if any). */
export const describeTally = (tally: RunTally): string =>
  `${tally.duplicates} duplicate, ${tally.missing} missing${tally.unknown > 0 ? `, ${tally.unknown} unknown` : ''}`;

/** Whether every job of the drain ran exactly once. */
export const isExactlyOnce = (tally: RunTally): boolean => tally.duplicates === 0 && tally.missing === 0 && tally.unknown === 0;
