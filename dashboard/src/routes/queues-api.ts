/**
 * GET /api/queues : every catalog queue's counts by state and its queue model figures, as
 * JSON; 503 when Redis is away.
 *
 *   { "queues": [{ "name", "description", "paused", "counts": {…by state},
 *                  "figures": QueueFigures }], "generatedAt": ISO time }
 *
 * `figures` is the queue model's QueueFigures (@conveyor/shared queue-model/reader.ts) as is:
 * backlog, inService, delayedLater, oldestWaitingAgeMs, totals, windows "10s" and "1m" (rates
 * in jobs/s, latencies in ms), workers, utilization, drain. A figure not yet known is null.
 */
import { readQueueModel } from '@conveyor/shared';
import type { RequestHandler } from 'express';
import { readQueueOverview } from '../queue-overview.ts';
import { callRedis } from '../redis-call.ts';
import type { RouteContext } from './route.ts';

export function listQueues(context: RouteContext): RequestHandler {
  const { queues, redis, prefix, historyTtlSec, commandTimeoutMs } = context;
  const names = queues.all().map((queue) => queue.name);
  return async (_req, res) => {
    const [summaries, figures] = await Promise.all([
      readQueueOverview({ queues, redis, timeoutMs: commandTimeoutMs }),
      callRedis({ redis, timeoutMs: commandTimeoutMs, label: 'queue figures' }, () => readQueueModel(redis, { prefix, queues: names, historyTtlSec })),
    ]);
    const byQueue = new Map(figures.map((f) => [f.queue, f]));
    res.set('Cache-Control', 'no-store').json({
      queues: summaries.map((summary) => ({ ...summary, figures: byQueue.get(summary.name) ?? null })),
      generatedAt: new Date().toISOString(),
    });
  };
}
