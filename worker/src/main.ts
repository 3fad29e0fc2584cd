/**
 * The worker process: reads config, starts one BullMQ Worker per selected queue and the
 * health server, and on SIGTERM/SIGINT shuts down gracefully (see stop-workers.ts).
 * Redis being down at start-up is not fatal: the workers wait it out and begin when it comes.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  checkRedisSettings,
  closeOnSignals,
  coerceError,
  ConfigError,
  createCloser,
  createLogger,
  createRedis,
  redisConnectionOptions,
  type QueueName,
} from '@conveyor/shared';
import type { Worker } from 'bullmq';
import { loadWorkerConfig, type WorkerConfig } from './config.ts';
import { createHandlers } from './handlers/index.ts';
import { createHealthServer } from './health-server.ts';
import { createWorkerStats, startWorker } from './start-worker.ts';
import { stopWorkers } from './stop-workers.ts';

function loadConfigOrExit(): WorkerConfig {
  try {
    return loadWorkerConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

const config = loadConfigOrExit();
const logger = createLogger({ name: 'worker', level: config.logLevel });
const closer = createCloser(logger);
closeOnSignals(closer, logger);

async function main(): Promise<void> {
  if (config.webhook.usesDevSecret) {
    logger.warn('WEBHOOK_SIGNING_SECRET is not set: webhooks are signed with the development secret; set one in production');
  }
  const connection = redisConnectionOptions({ url: config.redisUrl, mode: 'wait-out', connectionName: 'conveyor:worker' });
  const handlers = createHandlers({ email: config.email, webhook: config.webhook, report: config.report });
  const stats = createWorkerStats();

  const workers = new Map<QueueName, Worker>();
  closer.add('workers', () =>
    stopWorkers([...workers.values()], { timeoutMs: config.shutdownTimeoutMs, logger, activeJobs: () => stats.active }),
  );
  for (const queue of config.queues) {
    const concurrency = config.concurrency[queue] ?? 1;
    workers.set(queue, startWorker(queue, { connection, prefix: config.prefix, concurrency, handlers, logger, stats }));
  }

  // A short-lived connection of our own, to warn when Redis is not run the way we need.
  const probe = createRedis({ url: config.redisUrl, mode: 'wait-out', connectionName: 'conveyor:worker:check' }, logger);
  closer.add('redis settings check', () => probe.disconnect());
  probe.once('ready', () => {
    checkRedisSettings(probe, logger)
      .catch((error: unknown) => logger.warn({ err: coerceError(error) }, 'could not check the Redis settings'))
      .finally(() => probe.disconnect());
  });

  const server = createHealthServer({ workers, concurrency: config.concurrency, stats, logger });
  closer.add('health server', () => closeServer(server));
  const address = await listen(server, config.port, config.host);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  logger.info(
    { queues: config.queues, concurrency: config.concurrency, prefix: config.prefix, healthUrl: `http://${host}:${address.port}` },
    'worker ready',
  );
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

main().catch(async (error: unknown) => {
  logger.fatal({ err: coerceError(error) }, 'worker failed to start');
  await closer.close().catch(() => {});
  process.exit(1);
});
