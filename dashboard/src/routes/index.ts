/** The dashboard's own routes, in one table, each with who may call it. bull-board is mounted separately (board.ts, app.ts). */
import { alertsApi, alertsPage } from './alerts.ts';
import { assets } from './assets.ts';
import { auditApi, auditPage } from './audit.ts';
import { deadLetterApi, deadLetterPage, deadLettersApi, deadLettersPage, purgeApi, purgeForm, redriveApi, redriveForm } from './dead-letters.ts';
import { healthz, readyz } from './health.ts';
import { metrics } from './metrics.ts';
import { overviewPage } from './overview.ts';
import { listQueues } from './queues-api.ts';
import { searchApi, searchPage } from './search.ts';
import type { Route } from './route.ts';
import { login, loginPage, logout } from './session.ts';
import { workersApi, workersPage } from './workers.ts';

export type { Route, RouteContext } from './route.ts';

export const routes: readonly Route[] = [
  { method: 'get', path: '/', access: 'viewer', summary: 'overview page: counts by state per queue', handler: overviewPage },
  { method: 'get', path: '/search', access: 'viewer', summary: 'find a job by id or business key (the catalog\'s search keys)', handler: searchPage },
  { method: 'get', path: '/api/search', access: 'viewer', summary: 'jobs found by id or business key, JSON', handler: searchApi },
  { method: 'get', path: '/dead-letters', access: 'viewer', summary: 'dead-letter records, filterable (queue, kind, reason, text, from, to), paged', handler: deadLettersPage },
  { method: 'get', path: '/dead-letters/:queue/:id', access: 'viewer', summary: 'one dead-letter record: masked payload, options, attempts, redrives', handler: deadLetterPage },
  { method: 'get', path: '/api/dead-letters', access: 'viewer', summary: 'dead-letter records, masked, JSON', handler: deadLettersApi },
  { method: 'get', path: '/api/dead-letters/:queue/:id', access: 'viewer', summary: 'one dead-letter record, masked, JSON', handler: deadLetterApi },
  { method: 'post', path: '/api/dead-letters/redrive', access: 'operator', summary: 'redrive records by ids or filter (dry run, payload edit, confirm count), JSON', handler: redriveApi },
  { method: 'post', path: '/api/dead-letters/purge', access: 'operator', summary: 'purge records by ids or filter once confirm matches the count, JSON', handler: purgeApi },
  { method: 'post', path: '/dead-letters/redrive', access: 'operator', summary: 'the redrive forms of the dead-letter pages', handler: redriveForm },
  { method: 'post', path: '/dead-letters/purge', access: 'operator', summary: 'the purge forms of the dead-letter pages', handler: purgeForm },
  { method: 'get', path: '/alerts', access: 'viewer', summary: 'alert rules and their current state per queue', handler: alertsPage },
  { method: 'get', path: '/api/alerts', access: 'viewer', summary: 'alert rules and their current state per queue, JSON', handler: alertsApi },
  { method: 'get', path: '/workers', access: 'viewer', summary: 'live worker processes: host, pid, queues, concurrency, jobs in hand, uptime, last heartbeat', handler: workersPage },
  { method: 'get', path: '/api/workers', access: 'viewer', summary: 'live worker processes, JSON', handler: workersApi },
  { method: 'get', path: '/api/queues', access: 'viewer', summary: 'counts by state and the queue model figures per queue, JSON', handler: listQueues },
  // Public for Prometheus, like the producer's and worker's: aggregate figures only, no payloads or job ids.
  { method: 'get', path: '/metrics', access: 'public', summary: 'queue figures and process metrics, Prometheus text format', handler: metrics },
  { method: 'get', path: '/healthz', access: 'public', summary: 'process is up', handler: healthz },
  { method: 'get', path: '/readyz', access: 'public', summary: 'Redis answers PING', handler: readyz },
  { method: 'use', path: '/assets', access: 'public', summary: 'stylesheet and refresh script', handler: assets },
  { method: 'get', path: '/login', access: 'public', summary: 'sign-in form', handler: loginPage },
  { method: 'post', path: '/login', access: 'public', summary: 'sign in: a session cookie (the form carries its own CSRF token)', handler: login },
  { method: 'post', path: '/logout', access: 'viewer', summary: 'sign out: end the session', handler: logout },
  { method: 'get', path: '/audit', access: 'operator', summary: 'audit log page: sign-ins and every state-changing request', handler: auditPage },
  { method: 'get', path: '/api/audit', access: 'operator', summary: 'audit log entries, newest first, JSON', handler: auditApi },
];
