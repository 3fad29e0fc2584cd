/**
 * GET /audit      the audit log page (operators only: it shows who works when, and from where)
 * GET /api/audit  the same as JSON: { "entries": [{ id, at, user, via, action, method, path,
 *                 queue, jobs, count, dryRun, detail, status, ip }] }, newest first (fields
 *                 an entry lacks are left out); `?limit=` 1-1000, default 100.
 */
import type { Request, RequestHandler } from 'express';
import { z } from 'zod';
import { HttpError } from '../http-error.ts';
import { renderAuditPage } from '../ui/audit-page.ts';
import type { RouteContext } from './route.ts';

const query = z.object({ limit: z.coerce.number().int().min(1).max(1_000).default(100) });

function limitOf(req: Request): number {
  const parsed = query.safeParse(req.query);
  if (!parsed.success) throw new HttpError(400, 'bad_request', 'limit must be an integer from 1 to 1000', { field: 'limit' });
  return parsed.data.limit;
}

export function auditApi(context: RouteContext): RequestHandler {
  return async (req, res) => {
    const entries = await context.access.audit.latest(limitOf(req));
    res.set('Cache-Control', 'no-store').json({ entries });
  };
}

export function auditPage(context: RouteContext): RequestHandler {
  return async (req, res) => {
    const entries = await context.access.audit.latest(limitOf(req));
    res.set('Cache-Control', 'no-store').type('html').send(renderAuditPage(entries));
  };
}
