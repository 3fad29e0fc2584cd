/**
 * Test fixture: the dashboard app wired to a real Redis and a private key prefix, listening on
 * 127.0.0.1:0. Never imported by app code; `close()` releases everything it opened.
 */
import { createLogger, createRedis, openCatalogQueues, type CatalogQueues } from '@conveyor/shared';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import { createApp, type AccessOptions } from './app.ts';
import { startHttpServer } from './http-server.ts';

export interface DashboardFixture {
  url: string;
  /** The Express app being served (its router stack lists the routes). */
  app: Express;
  queues: CatalogQueues;
  redis: Redis;
  close(): Promise<void>;
}

export async function startDashboard(options: {
  redisUrl: string;
  prefix: string;
  commandTimeoutMs?: number;
  refreshMs?: number;
  historyTtlSec?: number;
  /** Users and sessions; default none (no-users mode: everyone is operator `local`). */
  access?: AccessOptions;
}): Promise<DashboardFixture> {
  const logger = createLogger({ name: 'dashboard-test', level: 'silent' });
  const redis = createRedis({ url: options.redisUrl, mode: 'fail-fast', connectionName: 'conveyor:dashboard-test' }, logger);
  const queues = openCatalogQueues({ connection: redis, prefix: options.prefix, logger, deadLetters: true });
  const app = createApp({
    queues,
    redis,
    prefix: options.prefix,
    logger,
    ...(options.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: options.commandTimeoutMs }),
    ...(options.refreshMs === undefined ? {} : { refreshMs: options.refreshMs }),
    ...(options.historyTtlSec === undefined ? {} : { historyTtlSec: options.historyTtlSec }),
    ...(options.access === undefined ? {} : { access: options.access }),
  });
  const http = await startHttpServer(app, { host: '127.0.0.1', port: 0 });
  return {
    url: http.url,
    app,
    queues,
    redis,
    async close() {
      await http.close();
      await queues.close();
      redis.disconnect();
    },
  };
}
