/**
 * Which dashboard process sends the alert webhooks: the holder of a Redis lease
 * (`<prefix>:~conveyor:dashboard:alerts-leader`, taken with SET NX PX, renewed by its holder each round). Every
 * process evaluates the rules and shows them; only the holder POSTs, so the receiver gets one
 * message per transition however many dashboards run. When the holder stops it gives the lease
 * back; when it dies the lease expires after `leaseMs` and the next process to evaluate takes it.
 */
import type { RedisClient } from '@conveyor/shared';
import { randomBytes } from 'node:crypto';

// Take the lease if free (SET NX PX), or renew it if ours; 1 when held by us afterwards.
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface AlertLeaderLease {
  /** Takes or renews the lease; true while this process holds it. Throws when Redis fails. */
  acquire(): Promise<boolean>;
  /** Gives the lease back if held (errors ignored: it expires anyway). */
  release(): Promise<void>;
  readonly id: string;
}

export function alertLeaderKey(prefix: string): string {
  return `${prefix}:~conveyor:dashboard:alerts-leader`;
}

export function createAlertLeaderLease(deps: { redis: RedisClient; prefix: string; leaseMs: number }): AlertLeaderLease {
  const id = randomBytes(8).toString('hex');
  const key = alertLeaderKey(deps.prefix);
  return {
    id,
    async acquire() {
      return (await deps.redis.eval(ACQUIRE, 1, key, id, String(deps.leaseMs))) === 1;
    },
    async release() {
      await deps.redis.eval(RELEASE, 1, key, id).catch(() => undefined);
    },
  };
}
