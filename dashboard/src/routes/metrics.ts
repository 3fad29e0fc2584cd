/**
 * GET /metrics : Prometheus text format — the queue figures (queue-metrics.ts), read at scrape
 * time under the Redis deadline, followed by this process's own metrics (@conveyor/shared
 * process-metrics.ts).
 *
 * With Redis away or slow it answers 503 with Retry-After at once, like every other read, and
 * on purpose: Prometheus then records the scrape as failed (`up == 0`) and the queue series go
 * stale, instead of freezing at their last values or reading as zero — an outage must not
 * look like an empty, healthy queue. Prometheus discards the body of a failed scrape, so the
 * process metrics it still carries are for people (`curl`), headed by a comment saying why.
 */
import { PROMETHEUS_CONTENT_TYPE, renderProcessMetrics } from '@conveyor/shared';
import type { RequestHandler } from 'express';
import { RETRY_AFTER_SEC } from '../http-error.ts';
import { readQueueMetrics, renderQueueMetrics } from '../queue-metrics.ts';
import { RedisUnavailableError } from '../redis-call.ts';
import type { RouteContext } from './route.ts';

export function metrics(context: RouteContext): RequestHandler {
  const { queues, redis, prefix, historyTtlSec, commandTimeoutMs, autoscale } = context;
  const names = queues.all().map((queue) => queue.name);
  return async (_req, res) => {
    res.set('Cache-Control', 'no-store').type(PROMETHEUS_CONTENT_TYPE);
    try {
      const input = await readQueueMetrics({ redis, prefix, historyTtlSec, queues: names, timeoutMs: commandTimeoutMs });
      res.send(`${await renderQueueMetrics(input, { autoscale })}\n${await renderProcessMetrics()}`);
    } catch (error) {
      if (!(error instanceof RedisUnavailableError)) throw error;
      const why = `# Queue figures unavailable (redis_unavailable): ${error.message.replace(/\n/g, ' ')}\n`;
      res.status(503).set('Retry-After', String(RETRY_AFTER_SEC)).send(`${why}${await renderProcessMetrics()}`);
    }
  };
}
