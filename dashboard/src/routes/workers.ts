/**
 * GET /workers      the live worker processes, server-rendered
 * GET /api/workers  the same as JSON; 503 when Redis is away:
 *   { "workers": [{ id, host, pid, queues: [{ queue, concurrency, active }], concurrency,
 *                   active, startedAt, lastHeartbeat (ISO), uptimeMs, heartbeatAgeMs }],
 *     "generatedAt": ISO time }
 * `active` (jobs in hand) is null for a process that does not report it. Read from each
 * process's heartbeat record (@conveyor/shared queue-model/workers.ts): O(queues + processes).
 */
import { readWorkers, type WorkerProcess } from '@conveyor/shared';
import type { RequestHandler } from 'express';
import { callRedis } from '../redis-call.ts';
import { renderWorkersPage } from '../ui/workers-page.ts';
import type { RouteContext } from './route.ts';

function liveWorkers(context: RouteContext, nowMs: number): Promise<WorkerProcess[]> {
  const { redis, prefix, queues, commandTimeoutMs } = context;
  const names = queues.all().map((queue) => queue.name);
  return callRedis({ redis, timeoutMs: commandTimeoutMs, label: 'worker heartbeats' }, () => readWorkers(redis, { prefix, queues: names, nowMs }));
}

export function workersApi(context: RouteContext): RequestHandler {
  return async (_req, res) => {
    const nowMs = Date.now();
    const workers = await liveWorkers(context, nowMs);
    res.set('Cache-Control', 'no-store').json({
      workers: workers.map(({ startedAtMs, beatAtMs, beatAgeMs, ...worker }) => ({
        ...worker,
        startedAt: new Date(startedAtMs).toISOString(),
        lastHeartbeat: new Date(beatAtMs).toISOString(),
        heartbeatAgeMs: beatAgeMs,
      })),
      generatedAt: new Date(nowMs).toISOString(),
    });
  };
}

export function workersPage(context: RouteContext): RequestHandler {
  return async (_req, res) => {
    const nowMs = Date.now();
    const workers = await liveWorkers(context, nowMs);
    res.set('Cache-Control', 'no-store').type('html').send(renderWorkersPage({ workers, generatedAtMs: nowMs }));
  };
}
