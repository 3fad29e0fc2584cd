/**
 * The dashboard's composition root: config, logger, one fail-fast Redis connection shared by
 * the catalog queues and the readiness probe, the app, listen. It starts and serves (503s and a
 * "Redis unreachable" banner) while Redis is down, and picks up by itself when Redis returns.
 * SIGTERM/SIGINT close the server, the queues and the connection, in that order.
 */
import {
  checkRedisSettingsWhenReady,
  closeOnSignals,
  coerceError,
  ConfigError,
  createCloser,
  createLogger,
  createRedis,
  isRedisReady,
  openCatalogQueues,
  withDeadline,
  type Closer,
  type Logger,
} from '@conveyor/shared';
import type { Redis } from 'ioredis';
import { createApp } from './app.ts';
import { loadDashboardConfig, type DashboardConfig } from './config.ts';
import { startHttpServer } from './http-server.ts';

function readConfig(): DashboardConfig {
  try {
    return loadDashboardConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`dashboard: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

/** QUIT when connected (bounded), then drop the socket either way so reconnecting stops. */
async function closeRedis(redis: Redis, timeoutMs: number): Promise<void> {
  try {
    if (isRedisReady(redis)) await withDeadline(redis.quit(), timeoutMs, 'Redis QUIT');
  } finally {
    redis.disconnect();
  }
}

/**
 * The Redis settings gate, run when Redis is first ready: a Redis that may evict jobs makes
 * the dashboard say why on stderr and exit 2, unless REDIS_ALLOW_EVICTION=true.
 */
function gateOnRedisSettings(redis: Redis, logger: Logger, closer: Closer, allowEviction: boolean): void {
  void checkRedisSettingsWhenReady(redis, logger, {
    allowEviction,
    onRefused: (error) => {
      process.stderr.write(`dashboard: ${error.message}\n`);
      logger.fatal(error.message);
      setTimeout(() => process.exit(2), 5_000).unref();
      closer.close().catch(() => {}).finally(() => process.exit(2));
    },
  });
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger({ name: 'dashboard', level: config.LOG_LEVEL });
  const closer = createCloser(logger);
  closeOnSignals(closer, logger);

  try {
    const redis = createRedis(
      { url: config.REDIS_URL, mode: 'fail-fast', connectionName: 'conveyor:dashboard' },
      logger,
    );
    closer.add('redis', () => closeRedis(redis, config.REDIS_COMMAND_TIMEOUT_MS));
    gateOnRedisSettings(redis, logger, closer, config.REDIS_ALLOW_EVICTION);

    const queues = openCatalogQueues({ connection: redis, prefix: config.CONVEYOR_PREFIX, logger, deadLetters: true });
    closer.add('queues', () => queues.close());

    const app = createApp({
      queues,
      redis,
      logger,
      refreshMs: config.DASHBOARD_REFRESH_MS,
      commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
    });
    const http = await startHttpServer(app, { host: config.HOST, port: config.PORT });
    closer.add('http server', () => http.close());
    logger.info({ url: http.url, prefix: config.CONVEYOR_PREFIX }, `dashboard listening on ${http.url}`);
  } catch (error) {
    logger.fatal({ err: coerceError(error) }, 'dashboard failed to start');
    await closer.close().catch(() => {});
    process.exit(1);
  }
}

await main();
