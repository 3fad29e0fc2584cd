/**
 * How the bench orders and summarises its rounds: each round runs the variants of a group in
 * a balanced order, and a figure is the median of its rounds.
 */

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * The order of `variants` in round `round` (0-based), from a Williams design: over n rounds
 * (2n when n is odd, the second n mirrored) each variant runs in every position once and
 * directly after each other variant once, so that a few rounds already balance position and
 * carry-over (running every permutation would take n! rounds to do so).
 */
export function balancedOrder<V>(variants: readonly V[], round: number): V[] {
  const n = variants.length;
  const first: number[] = [0];
  for (let low = 1, high = n - 1; first.length < n; ) first.push(first.length % 2 === 1 ? low++ : high--);
  const order = first.map((k) => variants[(k + round) % n]!);
  return n % 2 === 1 && Math.floor(round / n) % 2 === 1 ? order.reverse() : order;
}

/**
 * Runs every variant once a round for `rounds` rounds, in balancedOrder, each on a Redis
 * emptied first; logs each result (`describe` gets the 0-based round) and returns each
 * variant's results in round order.
 */
export async function inRounds<V extends string, R>(
  variants: readonly V[],
  rounds: number,
  steps: {
    admin: { flushall(): Promise<unknown> };
    run: (variant: V, round: number) => Promise<R>;
    describe: (variant: V, round: number, result: R) => string;
    log: (line: string) => void;
  },
): Promise<Record<V, R[]>> {
  const results = Object.fromEntries(variants.map((v) => [v, [] as R[]])) as Record<V, R[]>;
  for (let round = 0; round < rounds; round++) {
    for (const variant of balancedOrder(variants, round)) {
      await steps.admin.flushall();
      const result = await steps.run(variant, round);
      results[variant].push(result);
      steps.log(steps.describe(variant, round, result));
    }
  }
  return results;
}

/** The widest (max − min) ÷ median over the variants' rounds, halved: how far one run can be trusted. */
export function spreadOf<V extends string>(byVariant: Record<V, readonly number[]>, variants: readonly V[]): string {
  const widest = Math.max(...variants.map((v) => (Math.max(...byVariant[v]) - Math.min(...byVariant[v])) / median(byVariant[v])));
  return `±${Math.round(widest * 100) / 2} %`;
}

/** The median over rounds of `top[r] ÷ bottom[r]`: variants of one round ran back to back, so load drift cancels. */
export const pairedRatio = (top: readonly number[], bottom: readonly number[]): number => median(top.map((x, r) => x / bottom[r]!));

/** `12,345` */
export const count = (n: number): string => Math.round(n).toLocaleString('en-US');
