/** Commands redis-server ran, from INFO commandstats: the Redis side of "commands per job". */
import type { Redis } from 'ioredis';

/** Calls so far by command (`evalsha`, `bzpopmin`, …), without the bench's own `info`. */
export async function redisCalls(redis: Redis): Promise<Record<string, number>> {
  return (await redisCommandStats(redis)).calls;
}

/**
 * Calls and µs of Redis time so far by command, without the bench's own `info`. A command a
 * Lua script calls counts under its own name too, and the script's EVAL/EVALSHA time includes it.
 */
export async function redisCommandStats(redis: Redis): Promise<{ calls: Record<string, number>; usec: Record<string, number> }> {
  const text = await redis.info('commandstats');
  const calls: Record<string, number> = {};
  const usec: Record<string, number> = {};
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    if (match[1] === 'info') continue;
    calls[match[1]!] = Number(match[2]);
    usec[match[1]!] = Number(match[3]);
  }
  return { calls, usec };
}

/**
 * From a usec delta per job: the time in EVAL/EVALSHA and in every other command. Commands
 * called from scripts are among the others, so `scripts − others` is a lower bound on the time
 * Redis spent interpreting the scripts themselves.
 */
export function scriptTime(usecPerJob: Record<string, number>): { scriptsUs: number; othersUs: number } {
  let scriptsUs = 0;
  let othersUs = 0;
  for (const [command, us] of Object.entries(usecPerJob)) {
    if (command === 'eval' || command === 'evalsha' || command === 'eval_ro' || command === 'evalsha_ro') scriptsUs += us;
    else othersUs += us;
  }
  return { scriptsUs, othersUs };
}

/** `after − before` per command, divided by `per`; commands that did not run are left out. */
export function callsDelta(before: Record<string, number>, after: Record<string, number>, per = 1): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [command, calls] of Object.entries(after)) {
    const n = calls - (before[command] ?? 0);
    if (n > 0) delta[command] = n / per;
  }
  return delta;
}

/** `evalsha 4.0, bzpopmin 0.1`: the `top` commands by calls, busiest first. */
export const topCalls = (calls: Record<string, number>, top = 3): string =>
  Object.entries(calls)
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([command, n]) => `${command} ${n.toFixed(1)}`)
    .join(', ');

export const totalCalls = (calls: Record<string, number>): number => Object.values(calls).reduce((a, b) => a + b, 0);
