/**
 * `/v1/jobs`: enqueue a job over HTTP, read its status back, cancel it. Everything goes
 * through the producer client, so HTTP and in-process callers get the same validation and
 * idempotency. (Bulk enqueue is in bulk.ts.)
 *
 *   POST   /v1/jobs/:name       {"data": {...}, "delayMs"? | "runAt"?, "priority"?}
 *                               (+ Idempotency-Key header, from which the job id is derived)
 *                               → 201 new job, 200 the earlier one (or the pending job with
 *                               the same dedup key: "deduplicated": true)
 *   GET    /v1/jobs/:name/:id   → the job's state, progress, attempts, result or failure
 *   DELETE /v1/jobs/:name/:id   → 200 cancelled; 409 job_active / job_finished with its state,
 *                               job_scheduled for a schedule's next run (`:id` also takes a
 *                               scheduler's job id, `repeat:<schedule id>:<ms>`)
 */
import { Router, type RequestHandler } from 'express';
import { isJobName, jobNames } from '@conveyor/shared';
import type { JobStatus, Producer } from '../client.ts';
import { checkEnqueueRequest, MAX_IDEMPOTENCY_KEY_LENGTH } from '../enqueue-request.ts';
import { JobNotFoundError, JobValidationError, UnknownJobError, type ValidationIssue } from '../producer-errors.ts';
import { isPlainObject, jsonBody } from './json-body.ts';

export interface JobsRouterDeps {
  producer: Pick<Producer, 'enqueueUnknown' | 'getJob' | 'cancel'>;
  /** Largest accepted body, in bytes; larger gets 413. */
  bodyLimitBytes: number;
}

export function jobsRouter(deps: JobsRouterDeps): Router {
  const router = Router();
  router.post('/:name', requireKnownJob, ...jsonBody(deps.bodyLimitBytes), enqueue(deps.producer));
  router.get('/:name/:id', readStatus(deps.producer));
  router.delete('/:name/:id', cancel(deps.producer));
  return router;
}

/** Before the body is read, so that a wrong name is a 404 whatever the body. */
export const requireKnownJob: RequestHandler<{ name: string }> = (req, _res, next) => {
  if (!isJobName(req.params.name)) throw new UnknownJobError(req.params.name, jobNames);
  next();
};

function enqueue(producer: JobsRouterDeps['producer']): RequestHandler<{ name: string }> {
  return async (req, res) => {
    const { name } = req.params;
    const body: unknown = req.body;
    const issues: ValidationIssue[] = [];
    if (!isPlainObject(body)) {
      issues.push({ path: '', code: 'invalid_type', message: 'expected a JSON object {"data": {...}, "delayMs"? | "runAt"?, "priority"?}' });
    }
    const { data, ...fields } = isPlainObject(body) ? body : {};
    if ('idempotencyKey' in fields) {
      // The client takes idempotencyKey as an option; over HTTP it is the header only.
      issues.push({ path: 'idempotencyKey', code: 'unrecognized_keys', message: 'unknown field (send the key as the Idempotency-Key header)' });
    }
    const key = req.get('idempotency-key');
    const keyFits = key === undefined || (key.length > 0 && key.length <= MAX_IDEMPOTENCY_KEY_LENGTH);
    if (!keyFits) {
      issues.push({ path: 'Idempotency-Key', code: 'invalid_header', message: `header must be 1–${MAX_IDEMPOTENCY_KEY_LENGTH} characters` });
    }
    const options = { ...fields, ...(key !== undefined && keyFits ? { idempotencyKey: key } : {}) };
    if (issues.length > 0) {
      // Name the request's other bad fields too, so that one answer lists them all.
      throw new JobValidationError([...issues, ...checkEnqueueRequest(name, data, options).issues]);
    }

    const result = await producer.enqueueUnknown(name, data, options);
    res
      .status(result.created ? 201 : 200)
      .location(jobLocation(result))
      .json({ id: result.id, name: result.name, queue: result.queue, ...(result.deduplicated ? { deduplicated: true } : {}) });
  };
}

/** Where a job's status is read: `/v1/jobs/<name>/<id>`. */
export function jobLocation(job: { name: string; id: string }): string {
  return `/v1/jobs/${encodeURIComponent(job.name)}/${encodeURIComponent(job.id)}`;
}

function cancel(producer: JobsRouterDeps['producer']): RequestHandler<{ name: string; id: string }> {
  return async (req, res) => {
    const result = await producer.cancel(req.params.name, req.params.id);
    res.json(result);
  };
}

function readStatus(producer: JobsRouterDeps['producer']): RequestHandler<{ name: string; id: string }> {
  return async (req, res) => {
    const { name, id } = req.params;
    const status = await producer.getJob(name, id);
    if (!status) throw new JobNotFoundError(name, id);
    res.set('Cache-Control', 'no-store').json(jobView(status));
  };
}

/** A job's status as JSON: times as ISO strings or null. */
function jobView(status: JobStatus) {
  return {
    id: status.id,
    name: status.name,
    queue: status.queue,
    state: status.state,
    progress: status.progress,
    attemptsMade: status.attemptsMade,
    attempts: status.attempts,
    data: status.data,
    createdAt: status.createdAt.toISOString(),
    processedAt: status.processedAt?.toISOString() ?? null,
    finishedAt: status.finishedAt?.toISOString() ?? null,
    result: status.returnvalue ?? null,
    failedReason: status.failedReason,
    delayMs: status.delayMs,
    priority: status.priority,
    ...(status.deadLetter
      ? {
          deadLetter: {
            reason: status.deadLetter.reason,
            deadLetteredAt: status.deadLetter.deadLetteredAt.toISOString(),
            redriveCount: status.deadLetter.redriveCount,
          },
        }
      : {}),
  };
}
