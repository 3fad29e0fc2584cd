/**
 * GET /api/queues : every catalog queue's counts by state and its queue model figures, as
 * JSON; 503 when Redis is away.
 *
 *   { "queues": [{ "name", "description", "paused", "counts": {…by state},
 *                  "figures": QueueFigures, "recommendedWorkers": number }], "generatedAt": ISO time }
 *
 * `figures` is the queue model's QueueFigures (@conveyor/shared queue-model/reader.ts) as is:
 * backlog, inService, delayedLater, oldestWaitingAgeMs, totals, windows "10s" and "1m" (rates
 * in jobs/s, latencies in ms), workers, utilization, drain. A figure not yet known is null.
 * `recommendedWorkers` is the value of /metrics' conveyor_queue_recommended_workers (the worker
 * processes the queue needs, queue-model/recommended-workers.ts); null without figures.
 */
import type { RequestHandler } from 'express';
import { readQueueMetrics, recommendedWorkersOf } from '../queue-metrics.ts';
import { readQueueOverview } from '../queue-overview.ts';
import type { RouteContext } from './route.ts';

export function listQueues(context: RouteContext): RequestHandler {
  const { queues, redis, prefix, historyTtlSec, commandTimeoutMs, autoscale } = context;
  const names = queues.all().map((queue) => queue.name);
  return async (_req, res) => {
    const [summaries, { figures, latency }] = await Promise.all([
      readQueueOverview({ queues, redis, timeoutMs: commandTimeoutMs }),
      readQueueMetrics({ redis, prefix, historyTtlSec, queues: names, timeoutMs: commandTimeoutMs }),
    ]);
    const figuresOf = new Map(figures.map((f) => [f.queue, f]));
    const latencyOf = new Map(latency.map((totals) => [totals.queue, totals]));
    res.set('Cache-Control', 'no-store').json({
      queues: summaries.map((summary) => {
        const queueFigures = figuresOf.get(summary.name);
        return {
          ...summary,
          figures: queueFigures ?? null,
          recommendedWorkers: queueFigures ? recommendedWorkersOf(queueFigures, latencyOf.get(summary.name), autoscale) : null,
        };
      }),
      generatedAt: new Date().toISOString(),
    });
  };
}
