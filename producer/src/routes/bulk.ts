/**
 * Bulk enqueue: many jobs in one request, one Redis round trip per chunk.
 *
 *   POST /v1/jobs/:name/bulk   {"jobs": [{"data": {...}, "delayMs"? | "runAt"?, "priority"?, "idempotencyKey"?}]}
 *   POST /v1/jobs:bulk         {"jobs": [{"name": "<kind>", "data": {...}, ...}]}   (mixed kinds)
 *
 * All or nothing by default: one bad item → 422 naming every bad item's index and field, and
 * nothing is enqueued. With `?partial=true` the good items are enqueued and the answer is 207
 * listing the refused ones. More than BULK_MAX_JOBS items → 413 `too_many_items`. An item's job
 * id comes from its `idempotencyKey`; a `jobId` field is refused like any unknown field. Under a
 * rate limit (PRODUCER_RATE_LIMIT_*) a bulk request costs one token per job it enqueues, charged
 * once the items are validated: a refused request or item costs nothing beyond the request's
 * entry token.
 * Answers 201 when a job was created, 200 when every item named an existing job.
 */
import { Router, type RequestHandler } from 'express';
import type { BulkResult, Producer } from '../client.ts';
import { JobValidationError, TooManyItemsError } from '../producer-errors.ts';
import { chargeRateLimit } from '../rate-limit/rate-limit.ts';
import { objectBody, jsonBody } from './json-body.ts';
import { requireKnownJob } from './jobs.ts';

export interface BulkRouterDeps {
  producer: Pick<Producer, 'enqueueBulkUnknown'>;
  bodyLimitBytes: number;
  /** Most items one request may carry. */
  bulkMaxJobs: number;
}

/** Mounted at `/v1`. */
export function bulkRouter(deps: BulkRouterDeps): Router {
  const router = Router();
  // `:` is a parameter marker in express paths; `\\:` is the literal colon of `jobs:bulk`.
  router.post('/jobs\\:bulk', ...jsonBody(deps.bodyLimitBytes), enqueueBulk(deps, false));
  router.post('/jobs/:name/bulk', requireKnownJob, ...jsonBody(deps.bodyLimitBytes), enqueueBulk(deps, true));
  return router;
}

function enqueueBulk(deps: BulkRouterDeps, named: boolean): RequestHandler<{ name?: string }> {
  return async (req, res) => {
    const shape = named ? '{"jobs": [{"data": {...}, ...options}]}' : '{"jobs": [{"name": "<kind>", "data": {...}, ...options}]}';
    const { jobs, ...rest } = objectBody(req.body, shape);
    const unknown = Object.keys(rest).map((field) => ({ path: field, code: 'unrecognized_keys', message: 'unknown field' }));
    if (!Array.isArray(jobs)) {
      throw new JobValidationError([{ path: 'jobs', code: 'invalid_type', message: `expected an array of jobs: ${shape}` }, ...unknown]);
    }
    if (unknown.length > 0) throw new JobValidationError(unknown);
    if (jobs.length === 0) throw new JobValidationError([{ path: 'jobs', code: 'too_small', message: 'expected at least one job' }]);
    if (jobs.length > deps.bulkMaxJobs) throw new TooManyItemsError(jobs.length, deps.bulkMaxJobs);
    const partial = parsePartial(req.query.partial);
    const result = await deps.producer.enqueueBulkUnknown(jobs, {
      partial,
      ...(named ? { name: req.params.name } : {}),
      // The request took one token on its way in; the jobs it enqueues cost one each.
      beforeEnqueue: (count) => chargeRateLimit(res, count - 1),
    });
    res.status(bulkStatus(result)).json(result);
  };
}

function parsePartial(value: unknown): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true' || value === '') return true;
  throw new JobValidationError([{ path: 'partial', code: 'invalid_value', message: 'query parameter partial must be true or false' }]);
}

/** 207 when some items were refused, else 201 when a job was created, else 200. */
function bulkStatus(result: BulkResult): number {
  if (result.rejected.length > 0) return 207;
  return result.jobs.some((job) => job.created) ? 201 : 200;
}
