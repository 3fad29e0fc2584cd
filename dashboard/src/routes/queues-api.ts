/** GET /api/queues : every catalog queue's counts by state, as JSON; 503 when Redis is away. */
import type { RequestHandler } from 'express';
import { readQueueOverview } from '../queue-overview.ts';
import type { RouteContext } from './route.ts';

export function listQueues(context: RouteContext): RequestHandler {
  const { queues, redis, commandTimeoutMs } = context;
  return async (_req, res) => {
    const summaries = await readQueueOverview({ queues, redis, timeoutMs: commandTimeoutMs });
    res.set('Cache-Control', 'no-store').json({ queues: summaries, generatedAt: new Date().toISOString() });
  };
}
