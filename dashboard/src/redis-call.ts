/**
 * Every Redis read the dashboard makes on behalf of a request goes through `callRedis`: a fast
 * check that the connection is up (so a request made during an outage fails at once), then a
 * deadline on the call itself (so a half-dead Redis cannot hang a request). Either way out is a
 * `RedisUnavailableError`, which HTTP maps to 503 with Retry-After.
 */
import { DeadlineExceededError, isRedisReady, withDeadline } from '@conveyor/shared';
import type { RedisClient } from '@conveyor/shared';

export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface RedisCallOptions {
  /** The connection whose readiness is checked first. */
  redis: RedisClient;
  /** Longest wait for the call, in ms. */
  timeoutMs: number;
  /** Names the call in error messages, e.g. `queue counts`. */
  label: string;
}

/** Runs `call` within the deadline; throws RedisUnavailableError when Redis is away or slow. */
export async function callRedis<T>(options: RedisCallOptions, call: () => Promise<T>): Promise<T> {
  const { redis, timeoutMs, label } = options;
  if (!isRedisReady(redis)) {
    throw new RedisUnavailableError(`Redis is unreachable (connection ${redis.status})`);
  }
  try {
    return await withDeadline(call(), timeoutMs, label);
  } catch (error) {
    if (error instanceof DeadlineExceededError) {
      throw new RedisUnavailableError(`Redis did not answer ${label} within ${timeoutMs} ms`, { cause: error });
    }
    // A command that failed because the connection dropped mid-call is an outage, not a bug.
    if (!isRedisReady(redis)) {
      throw new RedisUnavailableError(`Redis became unreachable during ${label}`, { cause: error });
    }
    throw error;
  }
}
