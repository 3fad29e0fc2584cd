/**
 * GET /alerts      every alert rule on every queue it watches, with its state
 * GET /api/alerts  the same as JSON, from this process's evaluator (it reads no Redis):
 *   { "configured": bool, "evaluatedAt": ISO time | null,
 *     "alerts": [{ rule, queue, condition, when, forSec, state, value, threshold,
 *                  since, firingSince, resolvedAt (ISO or null), notified }] }
 * `state` is unknown (not evaluated yet), ok, pending, firing or resolved.
 */
import type { RequestHandler } from 'express';
import { renderAlertsPage } from '../ui/alerts-page.ts';
import type { RouteContext } from './route.ts';

const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function alertsApi(context: RouteContext): RequestHandler {
  return (_req, res) => {
    const alerts = context.alerts;
    res.set('Cache-Control', 'no-store').json({
      configured: alerts !== undefined,
      evaluatedAt: isoOrNull(alerts?.evaluatedAtMs() ?? null),
      alerts: (alerts?.list() ?? []).map(({ sinceMs, firingSinceMs, resolvedAtMs, ...status }) => ({
        ...status,
        since: isoOrNull(sinceMs),
        firingSince: isoOrNull(firingSinceMs),
        resolvedAt: isoOrNull(resolvedAtMs),
      })),
    });
  };
}

export function alertsPage(context: RouteContext): RequestHandler {
  return (_req, res) => {
    const alerts = context.alerts;
    res
      .set('Cache-Control', 'no-store')
      .type('html')
      .send(renderAlertsPage({ ...(alerts ? { statuses: alerts.list() } : {}), evaluatedAtMs: alerts?.evaluatedAtMs() ?? null }));
  };
}
