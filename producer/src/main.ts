/**
 * The producer's composition root: config → logger → Redis → producer → HTTP server, with a
 * closer that undoes them in reverse on SIGTERM/SIGINT. It starts and answers (/healthz, and
 * 503 for the rest) even while Redis is down; the connection keeps retrying.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  checkRedisSettingsWhenReady,
  closeOnSignals,
  coerceError,
  ConfigError,
  createCloser,
  createLogger,
  createRedis,
  isRedisReady,
  withDeadline,
  type Logger,
} from '@conveyor/shared';
import type { Redis } from 'ioredis';
import { createApp } from './app.ts';
import { createProducer } from './client.ts';
import { loadProducerConfig, type ProducerConfig } from './config.ts';

/** How long shutdown waits for in-flight requests before cutting connections, in ms. */
const SERVER_CLOSE_TIMEOUT_MS = 5_000;
/** How long shutdown waits for Redis to acknowledge QUIT, in ms. */
const REDIS_QUIT_TIMEOUT_MS = 1_000;

function readConfig(): ProducerConfig {
  try {
    return loadProducerConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger({ name: 'producer', level: config.LOG_LEVEL });
  const closer = createCloser(logger);
  closeOnSignals(closer, logger);

  const redis = createRedis({ url: config.REDIS_URL, mode: 'fail-fast', connectionName: 'conveyor:producer' }, logger);
  closer.add('redis', () => quitRedis(redis));
  // The Redis settings gate, when Redis is first ready: refuse one that may evict jobs.
  void checkRedisSettingsWhenReady(redis, logger, {
    allowEviction: config.REDIS_ALLOW_EVICTION,
    onRefused: (error) => {
      process.stderr.write(`producer: ${error.message}\n`);
      logger.fatal(error.message);
      setTimeout(() => process.exit(2), 5_000).unref();
      closer.close().catch(() => {}).finally(() => process.exit(2));
    },
  });

  const producer = createProducer({
    redis,
    prefix: config.CONVEYOR_PREFIX,
    logger,
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
    idempotencyTtlSec: config.IDEMPOTENCY_TTL_SEC,
  });
  closer.add('producer', () => producer.close());

  const app = createApp({ producer, logger, bodyLimitBytes: config.BODY_LIMIT_BYTES });
  const server = createServer(app);
  await listen(server, config.PORT, config.HOST);
  closer.add('http server', () => closeServer(server));

  const { port } = server.address() as AddressInfo;
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  logger.info({ host: config.HOST, port }, `producer listening on http://${host}:${port}`);
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stops accepting, lets in-flight requests finish, and cuts what is left after the timeout. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => server.closeAllConnections(), SERVER_CLOSE_TIMEOUT_MS);
    server.close((error) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    });
    server.closeIdleConnections();
  });
}

/** QUIT when connected (bounded); otherwise just stop reconnecting. */
async function quitRedis(redis: Redis): Promise<void> {
  if (!isRedisReady(redis)) {
    redis.disconnect();
    return;
  }
  try {
    await withDeadline(redis.quit(), REDIS_QUIT_TIMEOUT_MS, 'Redis QUIT');
  } catch {
    redis.disconnect();
  }
}

main().catch((error: unknown) => {
  const logger: Logger = createLogger({ name: 'producer', level: 'error' });
  logger.fatal({ err: coerceError(error) }, 'producer failed to start');
  process.exit(1);
});
