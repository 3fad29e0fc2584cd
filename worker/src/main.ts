/**
 * The worker process: reads config, starts one BullMQ Worker per selected queue and the
 * health server, and on SIGTERM/SIGINT shuts down gracefully (see stop-workers.ts).
 * Redis being down at start-up is not fatal: the workers wait it out and begin when it comes.
 * They begin fetching only once the Redis settings gate passed: a Redis that may evict keys
 * makes the process print why and exit 2 (unless REDIS_ALLOW_EVICTION=true).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  checkRedisSettingsWhenReady,
  coerceError,
  createAppRuntime,
  createDeadLetterStore,
  createPayloadSealer,
  DEV_PAYLOAD_KEY_ID,
  kindsOfQueue,
  createQueueModelRecorder,
  createRedisClient,
  bullConnection,
  describeRedisTopology,
  openCatalogQueues,
  withDeadline,
  type QueueModelRecorder,
  type QueueName,
  type RedisClient,
} from '@conveyor/shared';
import type { Worker } from 'bullmq';
import { loadWorkerConfig } from './config.ts';
import { startDeadLetterSweep } from './dead-letter-sweep.ts';
import { createHandlers } from './handlers/index.ts';
import { applyFleetLimits } from './fleet-limits.ts';
import { createHealthServer } from './health-server.ts';
import { backlogFromQueues, watchProgress } from './progress-watch.ts';
import { createWorkerStats, startWorker } from './start-worker.ts';
import { stopWorkers } from './stop-workers.ts';

/** Tries at writing the fleet-wide limits at start, a second apart (see applyFleetLimitsPatiently). */
const FLEET_LIMITS_TRIES = 15;

const { config, logger, closer, refuseToStart, failStart } = createAppRuntime({
  name: 'worker',
  loadConfig: () => loadWorkerConfig(),
  logLevel: (parsed) => parsed.logLevel,
});

async function main(): Promise<void> {
  logger.info({ redis: describeRedisTopology(config.redisTopology) }, 'Redis topology');
  if (config.webhook.usesDevSecret) {
    logger.warn('WEBHOOK_SIGNING_SECRET is not set: webhooks are signed with the development secret; set one in production');
  }
  // BullMQ's connections: options it opens itself, or on a Cluster a Cluster per owner that is
  // closed after its owner (the closer is LIFO, so these are added before their owners).
  const bullConnectionFor = (connectionName: string) => {
    const opened = bullConnection({ topology: config.redisTopology, mode: 'wait-out', connectionName }, logger);
    closer.add(`${connectionName} connection`, opened.close);
    return opened.connection;
  };
  const handlers = createHandlers({ email: config.email, webhook: config.webhook, report: config.report });
  // Opens the sealed (sensitive) payload fields in memory, just before validation.
  const sealer = createPayloadSealer({ keys: config.payloadKeys });
  if (sealer.keyIds[0] === DEV_PAYLOAD_KEY_ID) {
    logger.warn(`PAYLOAD_ENCRYPTION_KEYS starts with the public development key "${DEV_PAYLOAD_KEY_ID}" of docker-compose.yml; set your own in production`);
  }
  const sealedKinds = config.queues.flatMap((queue) => kindsOfQueue(queue)).filter((kind) => (kind.sensitive ?? []).length > 0);
  if (sealer.keyIds.length === 0 && sealedKinds.length > 0) {
    logger.warn(
      { kinds: sealedKinds.map((kind) => kind.name) },
      'PAYLOAD_ENCRYPTION_KEYS is not set: jobs whose sensitive fields are encrypted will fail permanently; give this worker the producer\'s keys',
    );
  }
  const stats = createWorkerStats();
  // Added before the workers so that it closes after them (the closer is LIFO).
  const deadLetters = createDeadLetterStore({
    connection: bullConnectionFor('conveyor:worker:dead-letter'),
    prefix: config.prefix,
    logger,
    queues: config.queues,
    retention: config.deadLetter,
  });
  closer.add('dead-letter store', () => deadLetters.close());

  // The queue model's recorder (its own connection) closes after the workers, so their last
  // attempts are counted.
  const recorder = config.figures.record ? startRecorder(() => stats.activeByQueue) : undefined;

  const workers = new Map<QueueName, Worker>();
  const workerConnections = new Map(config.queues.map((queue) => [queue, bullConnectionFor('conveyor:worker')]));
  closer.add('workers', () =>
    stopWorkers([...workers.values()], { timeoutMs: config.shutdownTimeoutMs, logger, activeJobs: () => stats.active }),
  );
  for (const queue of config.queues) {
    const concurrency = config.concurrency[queue] ?? 1;
    workers.set(queue, startWorker(queue, {
      connection: workerConnections.get(queue)!, prefix: config.prefix, concurrency, handlers, logger, stats, deadLetters,
      locks: config.locks[queue], timeoutMs: config.jobTimeoutMs, autorun: false, sealer,
      ...(recorder ? { recorder } : {}),
    }));
  }
  const sweep = startDeadLetterSweep({
    store: deadLetters,
    queues: config.queues,
    intervalMs: config.deadLetter.sweepIntervalMs,
    retention: config.deadLetter,
    logger,
    ...(recorder ? { recorder } : {}),
  });
  closer.add('dead-letter sweep', () => sweep.stop());

  // The Redis settings gate, on a short-lived connection of our own; the workers start
  // fetching once it passed (or could not tell), never on a Redis that may evict jobs.
  const probe = createRedisClient({ topology: config.redisTopology, mode: 'wait-out', connectionName: 'conveyor:worker:check' }, logger);
  closer.add('redis settings check', () => probe.disconnect());
  // Before fetching, the fleet-wide limits are written to Redis (fleet-limits.ts); a worker that
  // cannot write them does not start, unless it is already shutting down.
  void checkRedisSettingsWhenReady(probe, logger, { allowEviction: config.allowEviction, onRefused: refuseToStart }).then(
    async (outcome) => {
      if (outcome !== 'refused') await applyFleetLimitsPatiently(probe, () => [...workers.values()].some((worker) => worker.closing));
      probe.disconnect();
      if (outcome === 'refused') return;
      for (const [queue, worker] of workers) {
        if (worker.closing) continue;
        worker.run().catch((error: unknown) => logger.error({ err: coerceError(error), queue }, 'worker stopped running'));
      }
    },
  ).catch((error: unknown) => ([...workers.values()].some((worker) => worker.closing) ? undefined : failStart(error)));

  // Wedged-worker detection: backlogs read on a fail-fast connection, so a health check
  // during an outage answers at once.
  const healthRedis = createRedisClient({ topology: config.redisTopology, mode: 'fail-fast', connectionName: 'conveyor:worker:health' }, logger);
  closer.add('health redis', () => healthRedis.disconnect());
  const healthQueues = openCatalogQueues({ connection: healthRedis, prefix: config.prefix, logger, names: config.queues });
  closer.add('health queues', () => healthQueues.close());
  const progress = watchProgress({
    workers,
    concurrency: config.concurrency,
    backlog: backlogFromQueues(healthQueues),
    stuckAfterMs: config.stuckAfterMs,
  });
  closer.add('progress watch', () => progress.stop());

  const server = createHealthServer({ workers, concurrency: config.concurrency, stats, logger, progress });
  closer.add('health server', () => closeServer(server));
  const address = await listen(server, config.port, config.host);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  logger.info(
    { queues: config.queues, concurrency: config.concurrency, prefix: config.prefix, payloadKeyIds: sealer.keyIds, healthUrl: `http://${host}:${address.port}` },
    'worker ready',
  );
}

/**
 * Writes the fleet-wide limits, trying again for a while when Redis fails meanwhile (a master
 * failing over while the worker starts answers with errors for a few seconds); gives up with
 * the last error, which stops the start, after FLEET_LIMITS_TRIES tries or once shutting down.
 */
async function applyFleetLimitsPatiently(redis: RedisClient, closing: () => boolean): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await applyFleetLimits({ redis, prefix: config.prefix, limits: config.fleetLimits, logger });
      return;
    } catch (error) {
      if (attempt >= FLEET_LIMITS_TRIES || closing()) throw error;
      logger.warn({ err: coerceError(error), attempt }, 'could not write the fleet-wide limits; trying again in 1 s');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

/** `activeJobs`: jobs in hand per queue, for the heartbeat record the dashboard's Workers page reads. */
function startRecorder(activeJobs: () => Readonly<Record<string, number>>): QueueModelRecorder {
  const redis = createRedisClient({ topology: config.redisTopology, mode: 'wait-out', connectionName: 'conveyor:worker:queue-model' }, logger);
  closer.add('queue-model redis', async () => redis.disconnect());
  let lastError = '';
  const recorder = createQueueModelRecorder({
    redis,
    prefix: config.prefix,
    concurrency: Object.fromEntries(config.queues.map((queue) => [queue, config.concurrency[queue] ?? 1])),
    historyTtlSec: config.figures.historyTtlSec,
    activeJobs,
    onError: (error) => {
      if (error.message !== lastError) logger.warn({ err: error }, 'could not record queue figures; keeping them for the next try');
      lastError = error.message;
    },
  });
  closer.add('queue-model recorder', () => withDeadline(recorder.close(), 2_000, 'writing the last queue figures').catch(() => {}));
  return recorder;
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

main().catch(failStart);
