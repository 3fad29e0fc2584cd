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
 * Warns when Redis is not run the way Conveyor's guarantees need: `maxmemory-policy
 * noeviction` (evicting a job key loses the job) and AOF on (a restart loses acknowledged
 * jobs). Reads INFO rather than CONFIG GET so it also works under a least-privilege ACL.
 */
export async function checkRedisSettings(redis: Redis, logger: Logger): Promise<string[]> {
  const warnings: string[] = [];
  const info = await redis.info();
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  const policy = field('maxmemory_policy');
  if (policy && policy !== 'noeviction') {
    warnings.push(`Redis maxmemory-policy is "${policy}"; set it to "noeviction" or jobs may be evicted`);
  }
  if (field('aof_enabled') === '0') {
    warnings.push('Redis AOF is off; acknowledged jobs may be lost if Redis restarts (appendonly yes)');
  }
  for (const warning of warnings) logger.warn(warning);
  return warnings;
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
