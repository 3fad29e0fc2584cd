/**
 * `GET /metrics`: this process's metrics (CPU, memory, event-loop lag, GC…) in the Prometheus
 * text format (@conveyor/shared process-metrics.ts). Never touches Redis, so it answers during
 * an outage too; queue figures are the dashboard's `/metrics`.
 */
import { PROMETHEUS_CONTENT_TYPE, renderProcessMetrics } from '@conveyor/shared';
import { Router } from 'express';

export function metricsRouter(): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    res.set('Cache-Control', 'no-store').type(PROMETHEUS_CONTENT_TYPE).send(await renderProcessMetrics());
  });
  return router;
}
