/**
 * bull-board can add a job ("Add job", "Duplicate") and overwrite a job's data ("Edit data").
 * On a queue whose kinds have sensitive fields either would store what the form held: plain
 * text the producer never sealed, or the board's own masks in place of the sealed values. So
 * both answer 409 there; such jobs are enqueued through the producer API, which seals them,
 * and edited by a dead-letter redrive, which keeps them sealed.
 */
import { jobKinds, type AnyJobKind } from '@conveyor/shared';
import { Router, type RequestHandler } from 'express';
import { HttpError } from './http-error.ts';

/** Names of the kinds on `queueName` that have sensitive fields. */
export function sensitiveKindsOn(queueName: string): string[] {
  return Object.values<AnyJobKind>(jobKinds)
    .filter((kind) => kind.queue === queueName && (kind.sensitive ?? []).length > 0)
    .map((kind) => kind.name);
}

/** Mount at the board's base path, before the board: refuses adding or editing jobs on queues with sensitive kinds. */
export function sensitiveWriteGuard(): Router {
  const refuse: RequestHandler<{ queueName: string }> = (req, _res, next) => {
    const kinds = sensitiveKindsOn(req.params.queueName);
    if (kinds.length === 0) return next();
    next(
      new HttpError(
        409,
        'sensitive_payload',
        `jobs on queue "${req.params.queueName}" (${kinds.join(', ')}) have encrypted fields; ` +
          'enqueue them through the producer API, which encrypts them, and change payloads by a dead-letter redrive',
      ),
    );
  };
  const router = Router();
  router.post('/api/queues/:queueName/add', refuse);
  router.patch('/api/queues/:queueName/:jobId/update-data', refuse);
  return router;
}
