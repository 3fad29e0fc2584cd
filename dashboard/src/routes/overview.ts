/** GET / : the server-rendered overview; 503 with a "Redis unreachable" banner during an outage. */
import { RETRY_AFTER_SEC } from '../http-error.ts';
import { describeQueue, readQueueOverview } from '../queue-overview.ts';
import { RedisUnavailableError } from '../redis-call.ts';
import { renderOverviewPage, rowsFromSummaries } from '../ui/overview-page.ts';
import type { RouteContext } from './route.ts';
import type { RequestHandler } from 'express';

export function overviewPage(context: RouteContext): RequestHandler {
  const { queues, redis, commandTimeoutMs, refreshMs, boardPath } = context;
  const alerts = () => ({ alerts: context.alerts?.list() ?? [] });
  return async (_req, res) => {
    res.set('Cache-Control', 'no-store').type('html');
    try {
      const summaries = await readQueueOverview({ queues, redis, timeoutMs: commandTimeoutMs });
      res.send(renderOverviewPage({ rows: rowsFromSummaries(summaries), generatedAt: new Date(), refreshMs, boardPath, ...alerts() }));
    } catch (error) {
      if (!(error instanceof RedisUnavailableError)) throw error;
      const rows = queues.all().map((queue) => ({ name: queue.name, description: describeQueue(queue.name) }));
      res
        .status(503)
        .set('Retry-After', String(RETRY_AFTER_SEC))
        .send(renderOverviewPage({ rows, redisError: error.message, generatedAt: new Date(), refreshMs, boardPath, ...alerts() }));
    }
  };
}
