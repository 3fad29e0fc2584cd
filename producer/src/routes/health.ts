/** Liveness and readiness: `/healthz` says the process answers, `/readyz` that Redis does too. */
import { Router } from 'express';
import type { Producer } from '../client.ts';

export function healthRouter(deps: { producer: Pick<Producer, 'ping'> }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  // A failed PING throws RedisUnavailableError, which http-error.ts answers 503.
  router.get('/readyz', async (_req, res) => {
    await deps.producer.ping();
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  return router;
}
