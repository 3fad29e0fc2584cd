/** What every route factory is given, and the shape of one entry in the route table. */
import type { AutoscaleTargets, CatalogQueues, Logger } from '@conveyor/shared';
import type { RequestHandler } from 'express';
import type { RedisClient } from '@conveyor/shared';
import type { Access, AccessControl } from '../access/access-control.ts';
import type { AlertsView } from '../alerts/alert-evaluator.ts';
import type { OverviewFeed } from '../overview-feed.ts';

export interface RouteContext {
  queues: CatalogQueues;
  /** The connection the queues share; probed by /readyz. */
  redis: RedisClient;
  /** The BullMQ key prefix of the queues (the queue model's keys live under it too). */
  prefix: string;
  /** How long the queue model's per-minute history is kept, in s: the counter snapshots this app adds expire with it. */
  historyTtlSec: number;
  logger: Logger;
  /** How often the overview refreshes itself, in ms. */
  refreshMs: number;
  /** Longest wait for one Redis read, in ms. */
  commandTimeoutMs: number;
  /** Where bull-board is mounted, e.g. `/queues`. */
  boardPath: string;
  /** Users, sessions, the audit log and the login limiter. */
  access: AccessControl;
  /** `Secure` on cookies: always, never, or `auto` (when the request came over https). */
  cookieSecure: boolean | 'auto';
  /** Redrives of more records than this run as a background task with progress (dead-letter-task.ts). */
  redriveTaskThreshold: number;
  /** The alert evaluator's states, for the overview and /alerts; absent without a rules file. */
  alerts?: AlertsView;
  /** The overview's shared poll: the page, its JSON and its event stream read it, never Redis. */
  overviewFeed: OverviewFeed;
  /** Longest life of one overview event stream, in ms; absent means routes/overview.ts SSE_MAX_AGE_MS (10 min). */
  streamMaxAgeMs?: number;
  /** The targets of the recommended worker count (/metrics, /api/queues): DASHBOARD_AUTOSCALE_*. */
  autoscale: AutoscaleTargets;
}

export interface Route {
  /** `get` or `post` for one path; `use` for a mounted sub-tree (static assets). */
  method: 'get' | 'post' | 'use';
  path: string;
  /**
   * Who may call it, checked on the server before the handler (access/access-control.ts):
   * `public` (anyone), `viewer` (any signed-in user), `operator`. A state-changing route is
   * `operator` unless it is one of the two exceptions routes.test.ts names (sign in, sign out).
   */
  access: Access;
  summary: string;
  handler: (context: RouteContext) => RequestHandler;
}
