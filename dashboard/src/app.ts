/**
 * The dashboard's Express app, without listen(): security headers, the route table, bull-board
 * at `/queues` (sensitive fields masked, no adding or editing of jobs that have them), then 404
 * and the one error handler. `main.ts` wires it to real connections;
 * tests listen on 127.0.0.1:0.
 */
import { DEFAULT_HISTORY_TTL_SEC, isRedisReady, type CatalogQueues, type Logger } from '@conveyor/shared';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Redis } from 'ioredis';
import { createBoard } from './board.ts';
import { errorHandler, notFoundHandler, redisUnavailable } from './http-error.ts';
import { routes, type RouteContext } from './routes/index.ts';
import { sensitiveWriteGuard } from './sensitive-write-guard.ts';

export interface AppDeps {
  /** The catalog queues shown by the overview and bull-board. */
  queues: CatalogQueues;
  /** The fail-fast connection the queues share; its readiness gates every Redis read. */
  redis: Redis;
  /** The BullMQ key prefix the queues were opened with; the queue model's keys live under it. */
  prefix: string;
  /** How long the queue model's per-minute history is kept, in s (QUEUE_MODEL_HISTORY_DAYS). Default 7 days. */
  historyTtlSec?: number;
  logger: Logger;
  /** How often the overview refreshes itself, in ms. Default 5,000. */
  refreshMs?: number;
  /** Longest wait for one Redis read before answering 503, in ms. Default 1,000. */
  commandTimeoutMs?: number;
}

const defaults = { refreshMs: 5_000, commandTimeoutMs: 1_000 } as const;

/**
 * Security headers for a dashboard reached over plain HTTP on a LAN: helmet's defaults minus
 * HSTS and `upgrade-insecure-requests`, either of which makes browsers on other hosts switch to
 * an https:// that does not exist. The default CSP already suits bull-board (its scripts and
 * styles are files; its only inline <script> is a JSON data block) and our pages.
 */
function securityHeaders() {
  return helmet({
    strictTransportSecurity: false,
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
  });
}

export function createApp(deps: AppDeps): Express {
  const { queues, redis, prefix, logger, refreshMs, commandTimeoutMs } = { ...defaults, ...deps };
  const historyTtlSec = deps.historyTtlSec ?? DEFAULT_HISTORY_TTL_SEC;
  const board = createBoard({ queues: queues.all(), deadLetterQueues: queues.allDeadLetterQueues() });
  const context: RouteContext = { queues, redis, prefix, historyTtlSec, logger, refreshMs, commandTimeoutMs, boardPath: board.basePath };

  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders());

  for (const route of routes) {
    app[route.method](route.path, route.handler(context));
  }

  // bull-board's API would wait for Redis without limit; during an outage answer 503 at once.
  app.use(`${board.basePath}/api`, (_req, _res, next) => {
    next(isRedisReady(redis) ? undefined : redisUnavailable(`Redis is unreachable (connection ${redis.status})`));
  });
  // Adding or editing jobs whose payloads have sealed fields would store plain text or masks.
  app.use(board.basePath, sensitiveWriteGuard());
  app.use(board.basePath, board.router);

  app.use(notFoundHandler());
  app.use(errorHandler(logger));
  return app;
}
