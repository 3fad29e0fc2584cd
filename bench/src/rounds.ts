/**
 * How the bench orders and summarises its rounds: each round runs the variants of a group in
 * one of every possible order, and a figure is the median of its rounds.
 */

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Every permutation of `variants`, one per round in turn: each variant runs first, second and
 * last equally often and after each other variant equally often (a variant that always
 * followed raw BullMQ would inherit its leftovers: GC debt, Redis memory).
 */
export function everyOrder<V>(variants: readonly V[]): V[][] {
  const all: V[][] = [];
  const permute = (rest: readonly V[], prefix: V[]) => {
    if (rest.length === 0) all.push(prefix);
    rest.forEach((v, i) => permute([...rest.slice(0, i), ...rest.slice(i + 1)], [...prefix, v]));
  };
  permute(variants, []);
  return all;
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
