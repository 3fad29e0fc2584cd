/**
 * The dashboard's Express app, without listen(): security headers, the route table (each route
 * behind its access level), bull-board at `/queues` (viewers get a read-only board, operators
 * the full one; sensitive fields masked, no adding or editing of jobs that have them), then a
 * sign-in check for whatever is left, 404 and the one error handler. `main.ts` wires it to
 * real connections; tests listen on 127.0.0.1:0.
 */
import { DEFAULT_AUTOSCALE_TARGETS, DEFAULT_HISTORY_TTL_SEC, isRedisReady, type AutoscaleTargets, type CatalogQueues, type Logger } from '@conveyor/shared';
import express, { type Express, type Request } from 'express';
import helmet from 'helmet';
import type { RedisClient } from '@conveyor/shared';
import { randomBytes } from 'node:crypto';
import { createAccessControl, principalOf, type Access } from './access/access-control.ts';
import { createAuditLog } from './access/audit-log.ts';
import type { AlertsView } from './alerts/alert-evaluator.ts';
import { SAFE_METHODS } from './access/csrf.ts';
import { createLoginLimiter } from './access/login-limiter.ts';
import { createSessionStore } from './access/session-store.ts';
import type { DashboardUser } from './access/users.ts';
import { createBoard } from './board.ts';
import { REDRIVE_TASK_THRESHOLD } from './dead-letter-task.ts';
import { errorHandler, notFoundHandler, redisUnavailable } from './http-error.ts';
import { createOverviewFeed, type OverviewFeed } from './overview-feed.ts';
import { routes, type RouteContext } from './routes/index.ts';
import { sensitiveWriteGuard } from './sensitive-write-guard.ts';
import { pageContext } from './ui/page-context.ts';

export interface AccessOptions {
  /** Who may sign in (DASHBOARD_USERS). Default none: no-users mode, everyone is operator `local`. */
  users?: readonly DashboardUser[];
  /** Signs session cookies and derives CSRF tokens; share it between processes. Default random per app. */
  sessionSecret?: string;
  /** Session lifetime from sign-in, in s. Default 28,800 (8 h). */
  sessionTtlSec?: number;
  /** `Secure` on cookies: always, never, or `auto` (when the request came over https). Default auto. */
  cookieSecure?: boolean | 'auto';
}

export interface AppDeps {
  /** The catalog queues shown by the overview and bull-board. */
  queues: CatalogQueues;
  /** The fail-fast connection the queues share; its readiness gates every Redis read. */
  redis: RedisClient;
  /** The BullMQ key prefix the queues were opened with; the queue model's keys live under it. */
  prefix: string;
  /** How long the queue model's per-minute history is kept, in s (QUEUE_MODEL_HISTORY_DAYS). Default 7 days. */
  historyTtlSec?: number;
  logger: Logger;
  /** How often the overview refreshes itself, in ms. Default 5,000. */
  refreshMs?: number;
  /** Longest wait for one Redis read before answering 503, in ms. Default 1,000. */
  commandTimeoutMs?: number;
  /** Users, sessions and cookies. Default: no users (no-users mode). */
  access?: AccessOptions;
  /** The alert evaluator's states, shown on the overview and /alerts. Default none (no rules file). */
  alerts?: AlertsView;
  /**
   * The overview's shared poll; the caller closes it before the HTTP server (closing it ends the
   * open event streams). Default: one made from these deps, which polls only while a stream is open.
   */
  overviewFeed?: OverviewFeed;
  /** Dead-letter redrives of more records than this run as a background task with progress. Default 200. */
  redriveTaskThreshold?: number;
  /** Longest life of one overview event stream before the browser reconnects (and is let in again), in ms. Default 600,000 (10 min). */
  streamMaxAgeMs?: number;
  /** Targets of the recommended worker count on /metrics and /api/queues. Default utilization 0.7, drain 300 s. */
  autoscale?: AutoscaleTargets;
}

const defaults = { refreshMs: 5_000, commandTimeoutMs: 1_000, redriveTaskThreshold: REDRIVE_TASK_THRESHOLD } as const;
const accessDefaults = { users: [], sessionTtlSec: 28_800, cookieSecure: 'auto' } as const;

/** Reads need a signed-in user; anything that changes state needs an operator. */
const viewerReadsOperatorWrites = (req: Request): Access => (SAFE_METHODS.has(req.method) ? 'viewer' : 'operator');

/**
 * Security headers for a dashboard reached over plain HTTP on a LAN: helmet's defaults minus
 * HSTS and `upgrade-insecure-requests`, either of which makes browsers on other hosts switch to
 * an https:// that does not exist. The CSP names no other host: helmet's default lets styles
 * and fonts come from any `https:` origin, but the machines are offline and the dashboard needs
 * none (board.ts drops bull-board's Google Fonts link). bull-board's scripts and styles are
 * files, its only inline <script> a JSON data block; its inline styles need 'unsafe-inline'.
 */
function securityHeaders() {
  return helmet({
    strictTransportSecurity: false,
    contentSecurityPolicy: {
      directives: { upgradeInsecureRequests: null, styleSrc: ["'self'", "'unsafe-inline'"], fontSrc: ["'self'", 'data:'] },
    },
  });
}

export function createApp(deps: AppDeps): Express {
  const { queues, redis, prefix, logger, refreshMs, commandTimeoutMs, redriveTaskThreshold } = { ...defaults, ...deps };
  const historyTtlSec = deps.historyTtlSec ?? DEFAULT_HISTORY_TTL_SEC;
  const { users, sessionTtlSec, cookieSecure, sessionSecret = randomBytes(32).toString('base64url') } = { ...accessDefaults, ...deps.access };
  // The same queues twice: bull-board's read-only mode is fixed per board, so each role gets its own.
  const boardQueues = { queues: queues.all(), deadLetterQueues: queues.allDeadLetterQueues() };
  const boards = { operator: createBoard(boardQueues), viewer: createBoard({ ...boardQueues, readOnly: true }) };
  const boardPath = boards.operator.basePath;
  const access = createAccessControl({
    users,
    sessions: createSessionStore({ redis, prefix, secret: sessionSecret, ttlSec: sessionTtlSec, commandTimeoutMs }),
    audit: createAuditLog({ redis, prefix, logger, commandTimeoutMs }),
    limiter: createLoginLimiter({ redis, prefix, commandTimeoutMs }),
    boardApiPath: `${boardPath}/api`,
  });
  const overviewFeed =
    deps.overviewFeed ?? createOverviewFeed({ queues, redis, prefix, historyTtlSec, refreshMs, commandTimeoutMs, logger, ...(deps.alerts ? { alerts: deps.alerts } : {}) });
  const autoscale = deps.autoscale ?? DEFAULT_AUTOSCALE_TARGETS;
  const context: RouteContext = { queues, redis, prefix, historyTtlSec, logger, refreshMs, commandTimeoutMs, boardPath, access, cookieSecure, redriveTaskThreshold, overviewFeed, autoscale, ...(deps.alerts ? { alerts: deps.alerts } : {}), ...(deps.streamMaxAgeMs === undefined ? {} : { streamMaxAgeMs: deps.streamMaxAgeMs }) };

  const app = express();
  app.disable('x-powered-by');
  app.use(pageContext({ localMode: access.localMode }));
  app.use(securityHeaders());

  const formBody = express.urlencoded({ extended: false, limit: '16kb' });
  for (const route of routes) {
    const body = route.method === 'post' ? [formBody] : [];
    app[route.method](route.path, ...body, access.requireAccess(route.access), route.handler(context));
  }

  app.use(boardPath, access.requireAccess(viewerReadsOperatorWrites));
  // bull-board's API would wait for Redis without limit; during an outage answer 503 at once.
  app.use(`${boardPath}/api`, (_req, _res, next) => {
    next(isRedisReady(redis) ? undefined : redisUnavailable(`Redis is unreachable (connection ${redis.status})`));
  });
  // Adding or editing jobs whose payloads have sealed fields would store plain text or masks.
  app.use(boardPath, sensitiveWriteGuard());
  app.use(boardPath, (req, res, next) => boards[principalOf(res).role].router(req, res, next));

  // Default deny: an unknown path needs a signed-in user (an operator to write) before it learns it is a 404.
  app.use(access.requireAccess(viewerReadsOperatorWrites));
  app.use(notFoundHandler());
  app.use(errorHandler(logger));
  return app;
}
