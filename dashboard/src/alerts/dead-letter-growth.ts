/**
 * Dead-letter growth per queue: the evaluator samples each dead-letter queue's record count
 * once a round and keeps, per queue, just enough samples to look back over the longest rule
 * window. Growth over a window is the newest count minus the count at the window's start (the
 * oldest sample while the history is shorter); a redrive or purge makes it negative.
 */

export interface DeadLetterGrowth {
  /** Adds one count per queue, taken at `atMs`. */
  record(counts: ReadonlyMap<string, number>, atMs: number): void;
  /** Records added to `queue`'s dead-letter queue over the last `windowSec` before `atMs`; null before the first sample. */
  over(queue: string, windowSec: number, atMs: number): number | null;
}

export function createDeadLetterGrowth(options: { /** The longest window asked for, in ms. */ longestWindowMs: number }): DeadLetterGrowth {
  // queue → samples, oldest first.
  const samples = new Map<string, { atMs: number; count: number }[]>();
  return {
    record(counts, atMs) {
      for (const [queue, count] of counts) {
        const list = samples.get(queue) ?? [];
        list.push({ atMs, count });
        // Keep one sample at or before the longest window's start, as its baseline.
        while (list.length > 1 && list[1]!.atMs <= atMs - options.longestWindowMs) list.shift();
        samples.set(queue, list);
      }
    },
    over(queue, windowSec, atMs) {
      const list = samples.get(queue);
      if (!list || list.length === 0) return null;
      const from = atMs - windowSec * 1_000;
      const baseline = list.findLast((s) => s.atMs <= from) ?? list[0]!;
      return list.at(-1)!.count - baseline.count;
    },
  };
}
