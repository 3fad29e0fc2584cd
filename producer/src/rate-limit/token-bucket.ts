/**
 * A token bucket per client, kept in Redis so that every producer replica draws from the same
 * one. Each bucket holds up to `burst` tokens and refills at `perSec` tokens a second; a
 * request takes `cost` tokens or is refused with the time until enough have refilled.
 *
 * One Lua script reads, refills, takes and writes the bucket atomically, with Redis' own clock
 * (TIME), so replicas whose clocks differ still agree. The bucket's hash expires once it would
 * have refilled completely: a missing bucket is a full one, so idle clients cost no memory.
 * Keys: `<prefix>:~conveyor:rate-limit:<client>`.
 */
import type { RedisClient } from '@conveyor/shared';
import { callRedis } from '../redis-call.ts';

export interface TokenBucketOptions {
  redis: RedisClient;
  /** CONVEYOR_PREFIX; buckets live under `<prefix>:~conveyor:rate-limit:`. */
  prefix: string;
  /** Refill rate, in tokens per second (> 0; fractions allowed). */
  perSec: number;
  /** Bucket size: the most tokens a client can spend at once (≥ 1). */
  burst: number;
  /** Bound on the Redis call, in ms; past it the take throws RedisUnavailableError (503). Default 500. */
  commandTimeoutMs?: number;
}

export interface TokenTake {
  /** True when the tokens were taken. */
  allowed: boolean;
  /** Whole tokens left after this take. */
  remaining: number;
  /** When refused, ms until enough tokens have refilled; 0 when allowed. */
  retryAfterMs: number;
  /** ms until the bucket is full again. */
  fullInMs: number;
}

export interface TokenBucket {
  readonly perSec: number;
  readonly burst: number;
  /** Takes `cost` tokens (capped at `burst`) from `client`'s bucket. Throws RedisUnavailableError when Redis is away. */
  take(client: string, cost?: number): Promise<TokenTake>;
}

// KEYS[1] bucket hash {tokens, ms}; ARGV: perSec, burst, cost. Returns {allowed, remaining, retryAfterMs, fullInMs}.
const TAKE_TOKENS_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local perSec = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = math.min(tonumber(ARGV[3]), burst)
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ms')
local tokens = tonumber(state[1]) or burst
local last = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - last) * perSec / 1000)
local allowed = 0
local retryAfterMs = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retryAfterMs = math.ceil((cost - tokens) * 1000 / perSec)
end
local fullInMs = math.ceil((burst - tokens) * 1000 / perSec)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ms', tostring(now))
redis.call('PEXPIRE', KEYS[1], fullInMs + 1000)
return {allowed, math.floor(tokens), retryAfterMs, fullInMs}
`;

const COMMAND = 'conveyorTakeTokens';

type RedisWithTakeTokens = RedisClient & {
  [COMMAND](key: string, perSec: number, burst: number, cost: number): Promise<[number, number, number, number]>;
};

/** The Redis key of `client`'s bucket. */
export function rateLimitKey(prefix: string, client: string): string {
  return [prefix, '~conveyor', 'rate-limit', client].join(':');
}

/** A token bucket in Redis (see the file comment); ioredis sends the script by EVALSHA. */
export function createTokenBucket(options: TokenBucketOptions): TokenBucket {
  const { redis, prefix, perSec, burst, commandTimeoutMs = 500 } = options;
  if (!(perSec > 0) || !(burst >= 1)) throw new RangeError(`a token bucket needs perSec > 0 and burst ≥ 1 (got ${perSec}, ${burst})`);
  // defineCommand is idempotent: a second bucket on the same connection redefines the same script.
  redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: TAKE_TOKENS_LUA });
  const withScript = redis as RedisWithTakeTokens;
  return {
    perSec,
    burst,
    async take(client, cost = 1) {
      const [allowed, remaining, retryAfterMs, fullInMs] = await callRedis(redis, commandTimeoutMs, 'rate limit', () =>
        withScript[COMMAND](rateLimitKey(prefix, client), perSec, burst, Math.max(1, Math.ceil(cost))),
      );
      return { allowed: allowed === 1, remaining, retryAfterMs, fullInMs };
    },
  };
}
