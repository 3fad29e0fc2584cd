/**
 * Failed sign-ins are limited per client IP and user name: after `maxFailures` within
 * `windowSec`, that pair is refused with 429 until the window ends, whatever the password.
 * Counters live in Redis (`<prefix>:~conveyor:dashboard:login-failures:<ip>:<digest of name>`),
 * so every dashboard process counts together; a successful sign-in clears its pair.
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from '@conveyor/shared';
import { callRedis } from '../redis-call.ts';

export interface LoginLimiterOptions {
  redis: RedisClient;
  prefix: string;
  commandTimeoutMs: number;
  /** Failures allowed per IP and user name within the window. Default 10. */
  maxFailures?: number;
  /** The window, in s, from the first failure. Default 900 (15 min). */
  windowSec?: number;
}

export interface LoginLimiter {
  /** Seconds until this pair may try again; 0 when it may now. */
  retryAfterSec(ip: string, user: string): Promise<number>;
  failed(ip: string, user: string): Promise<void>;
  succeeded(ip: string, user: string): Promise<void>;
}

export function createLoginLimiter(options: LoginLimiterOptions): LoginLimiter {
  const { redis, prefix, commandTimeoutMs, maxFailures = 10, windowSec = 900 } = options;
  const key = (ip: string, user: string) =>
    `${prefix}:~conveyor:dashboard:login-failures:${ip}:${createHash('sha256').update(user).digest('hex').slice(0, 16)}`;
  const call = <T>(label: string, run: () => Promise<T>) => callRedis({ redis, timeoutMs: commandTimeoutMs, label }, run);
  return {
    async retryAfterSec(ip, user) {
      const [count, ttl] = await call('read login failures', () =>
        redis.multi().get(key(ip, user)).ttl(key(ip, user)).exec().then((replies) => replies!.map(([, value]) => value)),
      );
      return Number(count ?? 0) >= maxFailures ? Math.max(1, Number(ttl)) : 0;
    },
    async failed(ip, user) {
      await call('count login failure', () => redis.multi().incr(key(ip, user)).expire(key(ip, user), windowSec, 'NX').exec());
    },
    async succeeded(ip, user) {
      await call('clear login failures', () => redis.del(key(ip, user)));
    },
  };
}
