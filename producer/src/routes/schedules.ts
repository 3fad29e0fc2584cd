/**
 * Recurring schedules (producer/src/schedules.ts explains them).
 *
 *   GET    /v1/schedules       → {"schedules": [...]}
 *   GET    /v1/schedules/:id   → one schedule, or 404 schedule_not_found
 *   PUT    /v1/schedules/:id   {"name": "<kind>", "data": {...}, "cron": "0 3 * * *", "tz"?: "Europe/Paris"} or {..., "everyMs": 60000}
 *                              → 201 created, 200 replaced
 *   DELETE /v1/schedules/:id   → 204, or 404
 */
import { Router, type RequestHandler } from 'express';
import type { Producer, ScheduleView } from '../client.ts';
import { jsonBody } from './json-body.ts';

export interface SchedulesRouterDeps {
  producer: Pick<Producer, 'schedules'>;
  bodyLimitBytes: number;
}

/** Mounted at `/v1/schedules`. */
export function schedulesRouter(deps: SchedulesRouterDeps): Router {
  const { schedules } = deps.producer;
  const router = Router();
  router.get('/', async (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ schedules: (await schedules.list()).map(scheduleJson) });
  });
  router.get('/:id', (async (req, res) => {
    res.set('Cache-Control', 'no-store').json(scheduleJson(await schedules.get(req.params.id)));
  }) as RequestHandler<{ id: string }>);
  router.put('/:id', ...jsonBody(deps.bodyLimitBytes), (async (req, res) => {
    const { schedule, created } = await schedules.upsertUnknown(req.params.id, req.body);
    res.status(created ? 201 : 200).location(`/v1/schedules/${encodeURIComponent(schedule.id)}`).json(scheduleJson(schedule));
  }) as RequestHandler<{ id: string }>);
  router.delete('/:id', (async (req, res) => {
    await schedules.remove(req.params.id);
    res.status(204).end();
  }) as RequestHandler<{ id: string }>);
  return router;
}

export function scheduleJson(schedule: ScheduleView) {
  return { ...schedule, next: schedule.next?.toISOString() ?? null };
}
