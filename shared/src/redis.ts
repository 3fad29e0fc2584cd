/**
 * The Redis connection factory.
 *
 * Two kinds of connection, after BullMQ's going-to-production guide:
 * - `fail-fast` for processes that answer people (producer, dashboard): no offline queue and
 *   one try per command, so a request made while Redis is away fails at once and HTTP can
 *   answer 503; the connection keeps reconnecting in the background.
 * - `wait-out` for workers: `maxRetriesPerRequest: null` and an offline queue, so a worker
 *   rides out an outage and resumes by itself when Redis returns.
 * Both reconnect forever with a capped delay; neither process exits because Redis went away.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { withDeadline } from './deadline.ts';
import type { Logger } from './logger.ts';

export type RedisMode = 'fail-fast' | 'wait-out';

export interface RedisConnectionSettings {
  /** redis:// or rediss:// URL, with optional user, password and database number. */
  url: string;
  mode: RedisMode;
  /** Shown in CLIENT LIST, e.g. `conveyor:worker`. */
  connectionName?: string;
  /** Longest wait between reconnect attempts, in ms. Default 2,000 (fail-fast) / 5,000 (wait-out). */
  maxReconnectDelayMs?: number;
  /** Connect timeout, in ms. Default 2,000. */
  connectTimeoutMs?: number;
  /**
   * Send the commands issued in one event-loop tick in one write (ioredis `enableAutoPipelining`):
   * many concurrent requests then cost Redis one read per tick instead of one per command. Default false.
   */
  autoPipelining?: boolean;
}

/** Parses a redis:// or rediss:// URL into ioredis options. */
export function redisOptionsFromUrl(url: string): RedisOptions {
  const parsed = new URL(url);
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`unsupported Redis URL scheme "${parsed.protocol}" (use redis:// or rediss://)`);
  }
  const db = parsed.pathname.replace(/^\//, '');
  const options: RedisOptions = {
    host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
  };
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  if (parsed.password) options.password = decodeURIComponent(parsed.password);
  if (db) {
    if (!/^\d+$/.test(db)) throw new Error(`Redis URL database must be a number, got "${db}"`);
    options.db = Number(db);
  }
  if (parsed.protocol === 'rediss:') options.tls = { servername: options.host };
  return options;
}

/**
 * ioredis options narrowed so BullMQ's `ConnectionOptions` accepts them (ioredis also allows
 * `retryStrategy: null`, which BullMQ's type does not).
 */
export type ConveyorRedisOptions = Omit<RedisOptions, 'retryStrategy'> & {
  retryStrategy: (attempt: number) => number;
};

/** ioredis options for the given mode; hand them to BullMQ (which then owns the connection). */
export function redisConnectionOptions(settings: RedisConnectionSettings): ConveyorRedisOptions {
  const failFast = settings.mode === 'fail-fast';
  const maxDelay = settings.maxReconnectDelayMs ?? (failFast ? 2_000 : 5_000);
  return {
    ...redisOptionsFromUrl(settings.url),
    ...(settings.connectionName ? { connectionName: settings.connectionName } : {}),
    connectTimeout: settings.connectTimeoutMs ?? 2_000,
    enableOfflineQueue: !failFast,
    maxRetriesPerRequest: failFast ? 1 : null,
    ...(settings.autoPipelining ? { enableAutoPipelining: true } : {}),
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 10), maxDelay),
  };
}

/**
 * Opens an ioredis client that the caller owns and must `quit()`. Every connection error
 * is logged at most once per outage instead of once per reconnect attempt.
 */
export function createRedis(settings: RedisConnectionSettings, logger: Logger): Redis {
  const redis = new Redis({ ...redisConnectionOptions(settings), lazyConnect: false });
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    logger.warn({ err: error, redis: settings.connectionName }, 'Redis connection error; reconnecting');
  });
  redis.on('ready', () => {
    if (down) logger.info({ redis: settings.connectionName }, 'Redis connection restored');
    down = false;
  });
  return redis;
}

/** True when the client can take a command now (connected and ready). */
export function isRedisReady(redis: Redis): boolean {
  return redis.status === 'ready';
}

/**
 * Closes a client `main.ts` opened: QUIT when it is ready (bounded by `quitTimeoutMs`), then
 * drops the socket either way so it stops reconnecting. A QUIT that fails or times out
 * rejects, after the socket is dropped.
 */
export async function closeRedis(redis: Redis, quitTimeoutMs: number): Promise<void> {
  try {
    if (isRedisReady(redis)) await withDeadline(redis.quit(), quitTimeoutMs, 'Redis QUIT');
  } finally {
    redis.disconnect();
  }
}

/** Redis is run in a way that can lose jobs, and the operator did not accept it. */
export class RedisSettingsError extends Error {
  override readonly name = 'RedisSettingsError';
}

export interface RedisSettingsCheckOptions {
  /** Start anyway when the eviction policy is not `noeviction` or cannot be read (REDIS_ALLOW_EVICTION). Default false. */
  allowEviction?: boolean;
  /** Bound on the INFO call, in ms. Default 2,000. */
  timeoutMs?: number;
}

/**
 * The start-up gate on how Redis is run. `maxmemory-policy` other than `noeviction` (an
 * evicted job key is a lost job) throws a RedisSettingsError unless `allowEviction`, which
 * turns it into a warning; AOF off (a restart loses acknowledged jobs) and a policy that
 * INFO does not show (some managed services) are warnings. Reads INFO rather than CONFIG
 * GET so it also works under a least-privilege ACL. Resolves with the warnings it logged.
 */
export async function checkRedisSettings(
  redis: Redis,
  logger: Logger,
  options: RedisSettingsCheckOptions = {},
): Promise<string[]> {
  const { allowEviction = false, timeoutMs = 2_000 } = options;
  const warnings: string[] = [];
  const info = await withDeadline(redis.info(), timeoutMs, 'Redis INFO');
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  const policy = field('maxmemory_policy');
  if (policy === undefined) {
    warnings.push(
      'Redis INFO does not show maxmemory-policy; make sure it is "noeviction", or jobs may be evicted',
    );
  } else if (policy !== 'noeviction') {
    const problem = `Redis maxmemory-policy is "${policy}", so Redis may evict job keys under memory pressure and lose jobs`;
    if (!allowEviction) {
      throw new RedisSettingsError(
        `Refusing to start: ${problem}. Set it with \`CONFIG SET maxmemory-policy noeviction\` ` +
          '(and in redis.conf), or set REDIS_ALLOW_EVICTION=true to run anyway (managed services that forbid it).',
      );
    }
    warnings.push(`${problem} (allowed by REDIS_ALLOW_EVICTION=true)`);
  }
  if (field('aof_enabled') === '0') {
    warnings.push('Redis AOF is off; acknowledged jobs may be lost if Redis restarts (appendonly yes)');
  }
  for (const warning of warnings) logger.warn(warning);
  return warnings;
}

/**
 * Runs `checkRedisSettings` once, when `redis` is first ready (at once if it already is).
 * A refusal goes to `onRefused`, which should print it and exit; any other failure (INFO
 * timed out, the connection dropped) is logged as a warning and start-up goes on.
 * Resolves with the outcome, for tests and for callers that wait for the gate.
 */
export function checkRedisSettingsWhenReady(
  redis: Redis,
  logger: Logger,
  options: RedisSettingsCheckOptions & { onRefused: (error: RedisSettingsError) => void },
): Promise<'passed' | 'refused' | 'unchecked'> {
  const { onRefused, ...checkOptions } = options;
  const check = () =>
    checkRedisSettings(redis, logger, checkOptions).then(
      () => 'passed' as const,
      (error: unknown) => {
        if (error instanceof RedisSettingsError) {
          onRefused(error);
          return 'refused' as const;
        }
        logger.warn({ err: error }, 'could not check the Redis settings; starting anyway');
        return 'unchecked' as const;
      },
    );
  if (isRedisReady(redis)) return check();
  return new Promise((resolve) => redis.once('ready', () => resolve(check())));
}

/** Resolves when the client is ready; rejects after `timeoutMs` (the client keeps trying). */
export function whenRedisReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (isRedisReady(redis)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis was not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}
