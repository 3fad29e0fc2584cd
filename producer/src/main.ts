/**
 * The producer's composition root: config → logger → Redis → producer → HTTP server, with a
 * closer that undoes them in reverse on SIGTERM/SIGINT. It starts and answers (/healthz, and
 * 503 for the rest) even while Redis is down; the connection keeps retrying.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkRedisSettingsWhenReady, closeRedis, createAppRuntime, createRedisClient, describeRedisTopology, DEV_PAYLOAD_KEY_ID } from '@conveyor/shared';
import { createApp } from './app.ts';
import { createProducer } from './client.ts';
import { createHttpServer } from './http-server.ts';
import { loadProducerConfig } from './config.ts';
import { chooseListenHost } from './listen-host.ts';
import { createTokenBucket } from './rate-limit/token-bucket.ts';
import { keepCatalogSchedules } from './schedules.ts';

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
  // Auto-pipelining: concurrent requests' commands share one write to Redis (see the benchmark).
  logger.info({ redis: describeRedisTopology(config.redisTopology), durableEnqueue: config.durable ?? false }, 'Redis topology');
  const redis = createRedisClient({ topology: config.redisTopology, mode: 'fail-fast', connectionName: 'conveyor:producer', autoPipelining: true }, logger);
  closer.add('redis', () => closeRedis(redis, REDIS_QUIT_TIMEOUT_MS));
  // The Redis settings gate, when Redis is first ready: refuse one that may evict jobs.
  void checkRedisSettingsWhenReady(redis, logger, { allowEviction: config.REDIS_ALLOW_EVICTION, onRefused: refuseToStart });

  const producer = createProducer({
    redis,
    prefix: config.CONVEYOR_PREFIX,
    logger,
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
    idempotencyTtlSec: config.IDEMPOTENCY_TTL_SEC,
    payloadKeys: config.PAYLOAD_ENCRYPTION_KEYS,
    ...(config.durable ? { durable: config.durable } : {}),
  });
  closer.add('producer', () => producer.close());
  if (config.PAYLOAD_ENCRYPTION_KEYS[0]?.id === DEV_PAYLOAD_KEY_ID) {
    logger.warn(`PAYLOAD_ENCRYPTION_KEYS starts with the public development key "${DEV_PAYLOAD_KEY_ID}" of docker-compose.yml; set your own in production`);
  }
  closer.add('catalog schedules', keepCatalogSchedules(producer.schedules, redis, logger));

  const apiKeys = config.PRODUCER_API_KEYS;
  const rateLimiter =
    config.PRODUCER_RATE_LIMIT_PER_SEC > 0
      ? createTokenBucket({
          redis,
          prefix: config.CONVEYOR_PREFIX,
          perSec: config.PRODUCER_RATE_LIMIT_PER_SEC,
          burst: config.PRODUCER_RATE_LIMIT_BURST,
          commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
        })
      : undefined;
  const app = createApp({ producer, logger, bodyLimitBytes: config.BODY_LIMIT_BYTES, bulkMaxJobs: config.BULK_MAX_JOBS, apiKeys, rateLimiter });
  // Without API keys, a non-loopback HOST is replaced by 127.0.0.1 (listen-host.ts).
  const listenOn = chooseListenHost({ host: config.HOST, apiKeysConfigured: apiKeys.length > 0 });
  if (listenOn.warning) logger.warn(listenOn.warning);
  logger.info(
    { apiKeyIds: apiKeys.map((key) => key.id), rateLimitPerSec: config.PRODUCER_RATE_LIMIT_PER_SEC, rateLimitBurst: rateLimiter?.burst ?? null },
    apiKeys.length > 0 ? `/v1 requires one of ${apiKeys.length} API keys` : '/v1 is unauthenticated',
  );
  // Node's own refusals (unparsable requests, oversized headers…) answer in the error envelope too.
  const server = createHttpServer(app);
  await listen(server, config.PORT, listenOn.host);
  closer.add('http server', () => closeServer(server));

  const { port } = server.address() as AddressInfo;
  const host = listenOn.host.includes(':') ? `[${listenOn.host}]` : listenOn.host;
  logger.info({ host: listenOn.host, port }, `producer listening on http://${host}:${port}`);
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
