/** What every route factory is given, and the shape of one entry in the route table. */
import type { CatalogQueues, Logger } from '@conveyor/shared';
import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';

export interface RouteContext {
  queues: CatalogQueues;
  /** The connection the queues share; probed by /readyz. */
  redis: Redis;
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
}

export interface Route {
  /** `get` for one path; `use` for a mounted sub-tree (static assets). */
  method: 'get' | 'use';
  path: string;
  summary: string;
  handler: (context: RouteContext) => RequestHandler;
}
