/**
 * Test helper: the fuzz test's seeded randomness. The same seed gives the same requests, so a
 * failure found once can be replayed with `FUZZ_SEED=<seed>`.
 */

export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** An integer in [min, max]. */
  between(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  chance(probability: number): boolean;
  /** `length` characters drawn from `alphabet`. */
  string(length: number, alphabet?: string): string;
  /** A short string of the characters that break things: NUL, lone surrogates, RTL marks, emoji, quotes, path tricks. */
  weird(): string;
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

const WEIRD_PIECES = [
  '\u0000', '\ud800', '\udfff', '\ud83e', '\u202e', '\u200b', '\ufeff', '\uffff', '\u0085', '\u2028',
  '🦄', '👩‍👩‍👧', 'e\u0301', 'ﷺ', 'Ω', '日本', '"', '\\', '\n', '\t', '\r', '%00', '%ff', '../', '..\\',
  '${7*7}', '{{x}}', '<script>', "'; DROP", '\u001b[31m', 'null', '__proto__',
];

/** mulberry32: small, fast, and good enough to pick test inputs. */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const random: Random = {
    next,
    int,
    between: (min, max) => min + int(max - min + 1),
    pick: (items) => items[int(items.length)]!,
    chance: (probability) => next() < probability,
    string: (length, alphabet = ALNUM) => Array.from({ length }, () => alphabet[int(alphabet.length)]).join(''),
    weird: () => Array.from({ length: 1 + int(4) }, () => random.pick(WEIRD_PIECES)).join(''),
  };
  return random;
}
