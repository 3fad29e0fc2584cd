/**
 * Every Redis call the producer makes goes through `callRedis`, so that a request never
 * waits on a Redis that is away:
 * 1. When the connection is not ready, refuse at once, before calling anything. BullMQ waits
 *    for its connection to become ready, so a `queue.add` made during an outage would add the
 *    job later, after the caller had been told 503.
 * 2. Bound the call by a deadline (REDIS_COMMAND_TIMEOUT_MS).
 * 3. Turn a missed deadline or a connection failure into RedisUnavailableError (HTTP 503).
 *    Anything else (a bug, a WRONGTYPE reply) passes through unchanged and becomes a 500.
 * A call that misses its deadline may still take effect in Redis later; callers that must
 * not act twice retry with a job id or an idempotency key.
 */
import { DeadlineExceededError, isRedisReady, withDeadline } from '@conveyor/shared';
import type { RedisClient } from '@conveyor/shared';
import { RedisUnavailableError } from './producer-errors.ts';

/** Error text of ioredis/Node connection failures and of Redis replies that mean "not now". */
const UNAVAILABLE =
  /Connection is closed|Stream isn't writeable|max retries per request|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|OOM|READONLY)\b/i;

/** Runs `call` under the producer's Redis rules (see the file comment). */
export async function callRedis<T>(
  redis: RedisClient,
  timeoutMs: number,
  label: string,
  call: () => Promise<T>,
): Promise<T> {
  if (!isRedisReady(redis)) {
    throw new RedisUnavailableError(`Redis is unavailable (connection ${redis.status})`);
  }
  try {
    return await withDeadline(call(), timeoutMs, label);
  } catch (error) {
    throw toUnavailable(error, redis) ?? error;
  }
}

function toUnavailable(error: unknown, redis: RedisClient): RedisUnavailableError | undefined {
  if (error instanceof RedisUnavailableError) return error;
  if (error instanceof DeadlineExceededError) {
    return new RedisUnavailableError(`Redis did not answer within ${error.timeoutMs} ms (${error.label})`, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | undefined)?.code;
  if (UNAVAILABLE.test(message) || (typeof code === 'string' && UNAVAILABLE.test(code)) || !isRedisReady(redis)) {
    return new RedisUnavailableError(`Redis is unavailable: ${message}`, { cause: error });
  }
  return undefined;
}
