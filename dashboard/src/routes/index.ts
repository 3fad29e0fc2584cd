/** The dashboard's own routes, in one table. bull-board is mounted separately (board.ts). */
import { assets } from './assets.ts';
import { healthz, readyz } from './health.ts';
import { metrics } from './metrics.ts';
import { overviewPage } from './overview.ts';
import { listQueues } from './queues-api.ts';
import type { Route } from './route.ts';

export type { Route, RouteContext } from './route.ts';

export const routes: readonly Route[] = [
  { method: 'get', path: '/', summary: 'overview page: counts by state per queue', handler: overviewPage },
  { method: 'get', path: '/api/queues', summary: 'counts by state and the queue model figures per queue, JSON', handler: listQueues },
  { method: 'get', path: '/metrics', summary: 'queue figures and process metrics, Prometheus text format', handler: metrics },
  { method: 'get', path: '/healthz', summary: 'process is up', handler: healthz },
  { method: 'get', path: '/readyz', summary: 'Redis answers PING', handler: readyz },
  { method: 'use', path: '/assets', summary: 'stylesheet and refresh script', handler: assets },
];
