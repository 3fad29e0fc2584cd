/** The dashboard's own routes, in one table, each with who may call it. bull-board is mounted separately (board.ts, app.ts). */
import { alertsApi, alertsPage } from './alerts.ts';
import { assets } from './assets.ts';
import { auditApi, auditPage } from './audit.ts';
import { deadLetterApi, deadLetterPage, deadLettersApi, deadLettersPage, purgeApi, purgeForm, redriveApi, redriveForm, redriveTaskApi, redriveTaskPage } from './dead-letters.ts';
import { healthz, readyz } from './health.ts';
import { metrics } from './metrics.ts';
import { overviewApi, overviewPage, overviewStream } from './overview.ts';
import { listQueues } from './queues-api.ts';
import { pauseQueueApi, pauseQueueForm, queueDetailPage, queueHistoryApi, resumeQueueApi, resumeQueueForm } from './queue-detail.ts';
import { searchApi, searchPage } from './search.ts';
import type { Route } from './route.ts';
import { login, loginPage, logout } from './session.ts';
import { workersApi, workersPage } from './workers.ts';

export type { Route, RouteContext } from './route.ts';

export const routes: readonly Route[] = [
  { method: 'get', path: '/', access: 'viewer', summary: 'overview page: health, live figures and sparklines per queue', handler: overviewPage },
  { method: 'get', path: '/api/overview', access: 'viewer', summary: 'the overview snapshot: figures, health and last-hour series per queue, JSON', handler: overviewApi },
  { method: 'get', path: '/api/overview/stream', access: 'viewer', summary: 'the overview snapshot after every shared poll, Server-Sent Events', handler: overviewStream },
  { method: 'get', path: '/search', access: 'viewer', summary: 'find a job by id or business key (the catalog\'s search keys)', handler: searchPage },
  { method: 'get', path: '/api/search', access: 'viewer', summary: 'jobs found by id or business key, JSON', handler: searchApi },
  { method: 'get', path: '/dead-letters', access: 'viewer', summary: 'dead-letter records, filterable (queue, kind, reason, text, from, to), paged', handler: deadLettersPage },
  // Before /dead-letters/:queue/:id, which would take "tasks" for a queue.
  { method: 'get', path: '/dead-letters/tasks/:id', access: 'viewer', summary: 'a background redrive: progress bar and counts, refreshed while it runs', handler: redriveTaskPage },
  { method: 'get', path: '/api/dead-letters/tasks/:id', access: 'viewer', summary: 'a background redrive: state and counts, JSON', handler: redriveTaskApi },
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
  { method: 'get', path: '/queue/:name', access: 'viewer', summary: 'one queue: current figures, jobs by state (linked into bull-board), history charts (?range=1h|24h|7d), pause/resume', handler: queueDetailPage },
  { method: 'get', path: '/api/queues/:name/history', access: 'viewer', summary: 'one queue\'s history points (?range=1h|24h|7d), JSON', handler: queueHistoryApi },
  { method: 'post', path: '/api/queues/:name/pause', access: 'operator', summary: 'pause the queue for every worker (idempotent), JSON', handler: pauseQueueApi },
  { method: 'post', path: '/api/queues/:name/resume', access: 'operator', summary: 'resume the queue (idempotent), JSON', handler: resumeQueueApi },
  { method: 'post', path: '/queue/:name/pause', access: 'operator', summary: 'the queue page\'s pause form', handler: pauseQueueForm },
  { method: 'post', path: '/queue/:name/resume', access: 'operator', summary: 'the queue page\'s resume form', handler: resumeQueueForm },
  // Public for Prometheus, like the producer's and worker's: aggregate figures only, no payloads or job ids.
  { method: 'get', path: '/metrics', access: 'public', summary: 'queue figures and process metrics, Prometheus text format', handler: metrics },
  { method: 'get', path: '/healthz', access: 'public', summary: 'process is up', handler: healthz },
  { method: 'get', path: '/readyz', access: 'public', summary: 'Redis answers PING', handler: readyz },
  { method: 'use', path: '/assets', access: 'public', summary: 'stylesheet, page scripts, and vendor files (uPlot) from node_modules', handler: assets },
  { method: 'get', path: '/login', access: 'public', summary: 'sign-in form', handler: loginPage },
  { method: 'post', path: '/login', access: 'public', summary: 'sign in: a session cookie (the form carries its own CSRF token)', handler: login },
  { method: 'post', path: '/logout', access: 'viewer', summary: 'sign out: end the session', handler: logout },
  { method: 'get', path: '/audit', access: 'operator', summary: 'audit log page: sign-ins and every state-changing request', handler: auditPage },
  { method: 'get', path: '/api/audit', access: 'operator', summary: 'audit log entries, newest first, JSON', handler: auditApi },
];
