/**
 * Test fixture: the dashboard app wired to a real Redis and a private key prefix, listening on
 * 127.0.0.1:0. Never imported by app code; `close()` releases everything it opened.
 */
import { createLogger, createRedis, openCatalogQueues, type AutoscaleTargets, type CatalogQueues, type QueueName } from '@conveyor/shared';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import { createApp, type AccessOptions } from './app.ts';
import { createOverviewFeed, type OverviewFeed } from './overview-feed.ts';
import { startHttpServer } from './http-server.ts';

export interface DashboardFixture {
  url: string;
  /** The Express app being served (its router stack lists the routes). */
  app: Express;
  queues: CatalogQueues;
  redis: Redis;
  /** The overview's shared poll, closed first by `close()` (it ends open event streams). */
  overviewFeed: OverviewFeed;
  close(): Promise<void>;
}

export async function startDashboard(options: {
  redisUrl: string;
  prefix: string;
  commandTimeoutMs?: number;
  refreshMs?: number;
  historyTtlSec?: number;
  /** Redrives of more records than this run as background tasks; default the app's (200). */
  redriveTaskThreshold?: number;
  /** Users and sessions; default none (no-users mode: everyone is operator `local`). */
  access?: AccessOptions;
  /** How long the overview's sparkline history is reused, in ms; default the feed's (60,000). */
  historyRefreshMs?: number;
  /** The Redis client name of the dashboard's connection. Default `conveyor:dashboard-test`. */
  connectionName?: string;
  /** Longest life of one overview event stream, in ms; default the app's (10 min). */
  streamMaxAgeMs?: number;
  /** Targets of the recommended worker count; default the app's (0.7, 300 s). */
  autoscale?: AutoscaleTargets;
  /**
   * The queues to open (each with its dead-letter queue) instead of the catalog's: the app takes
   * whatever queues it is given, so a test can show it 50. Default the catalog's.
   */
  queueNames?: readonly string[];
}): Promise<DashboardFixture> {
  const logger = createLogger({ name: 'dashboard-test', level: 'silent' });
  const redis = createRedis({ url: options.redisUrl, mode: 'fail-fast', connectionName: options.connectionName ?? 'conveyor:dashboard-test' }, logger);
  const queues = openCatalogQueues({
    connection: redis,
    prefix: options.prefix,
    logger,
    deadLetters: true,
    // Names outside the catalog are the test's choice; the queues behave the same.
    ...(options.queueNames ? { names: options.queueNames as readonly QueueName[] } : {}),
  });
  const overviewFeed = createOverviewFeed({
    queues,
    redis,
    prefix: options.prefix,
    logger,
    refreshMs: options.refreshMs ?? 5_000,
    commandTimeoutMs: options.commandTimeoutMs ?? 1_000,
    ...(options.historyTtlSec === undefined ? {} : { historyTtlSec: options.historyTtlSec }),
    ...(options.historyRefreshMs === undefined ? {} : { historyRefreshMs: options.historyRefreshMs }),
  });
  const app = createApp({
    queues,
    redis,
    prefix: options.prefix,
    logger,
    overviewFeed,
    ...(options.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: options.commandTimeoutMs }),
    ...(options.refreshMs === undefined ? {} : { refreshMs: options.refreshMs }),
    ...(options.historyTtlSec === undefined ? {} : { historyTtlSec: options.historyTtlSec }),
    ...(options.access === undefined ? {} : { access: options.access }),
    ...(options.redriveTaskThreshold === undefined ? {} : { redriveTaskThreshold: options.redriveTaskThreshold }),
    ...(options.streamMaxAgeMs === undefined ? {} : { streamMaxAgeMs: options.streamMaxAgeMs }),
    ...(options.autoscale === undefined ? {} : { autoscale: options.autoscale }),
  });
  const http = await startHttpServer(app, { host: '127.0.0.1', port: 0 });
  return {
    url: http.url,
    app,
    queues,
    redis,
    overviewFeed,
    async close() {
      await overviewFeed.close();
      await http.close();
      await queues.close();
      redis.disconnect();
    },
  };
}
