/**
 * The producer's composition root: config → logger → Redis → producer → HTTP server, with a
 * closer that undoes them in reverse on SIGTERM/SIGINT. It starts and answers (/healthz, and
 * 503 for the rest) even while Redis is down; the connection keeps retrying.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkRedisSettingsWhenReady, closeRedis, createAppRuntime, createRedis } from '@conveyor/shared';
import { createApp } from './app.ts';
import { createProducer } from './client.ts';
import { loadProducerConfig } from './config.ts';

/** How long shutdown waits for in-flight requests before cutting connections, in ms. */
const SERVER_CLOSE_TIMEOUT_MS = 5_000;
/** How long shutdown waits for Redis to acknowledge QUIT, in ms. */
const REDIS_QUIT_TIMEOUT_MS = 1_000;

const { config, logger, closer, refuseToStart, failStart } = createAppRuntime({
  name: 'producer',
  loadConfig: () => loadProducerConfig(process.env),
  logLevel: (parsed) => parsed.LOG_LEVEL,
});

async function main(): Promise<void> {
  const redis = createRedis({ url: config.REDIS_URL, mode: 'fail-fast', connectionName: 'conveyor:producer' }, logger);
  closer.add('redis', () => closeRedis(redis, REDIS_QUIT_TIMEOUT_MS));
  // The Redis settings gate, when Redis is first ready: refuse one that may evict jobs.
  void checkRedisSettingsWhenReady(redis, logger, { allowEviction: config.REDIS_ALLOW_EVICTION, onRefused: refuseToStart });

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

main().catch(failStart);
