/**
 * The one place where errors become HTTP answers, all in one envelope:
 * `{"error": {"code", "message", "details"}}`. Expected errors map to a 4xx or 503;
 * anything else is logged and answered 500 `internal`, with no stack or message leaked.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { coerceError, EncryptionKeyMissingError, type Logger } from '@conveyor/shared';
import { ForbiddenError, ForbiddenKeyError, RateLimitedError, UnauthorizedError } from './access-errors.ts';
import {
  IdempotencyConflictError,
  JobNotCancellableError,
  JobNotFoundError,
  JobValidationError,
  NotReplicatedError,
  RedisUnavailableError,
  ScheduledJobError,
  ScheduleNotFoundError,
  TooManyItemsError,
  UnknownJobError,
  UnknownTopicError,
} from './producer-errors.ts';

export interface ErrorEnvelope {
  error: { code: string; message: string; details: Record<string, unknown> };
}

export interface HttpErrorAnswer {
  status: number;
  body: ErrorEnvelope;
  headers?: Record<string, string>;
}

/** How long a client should wait before retrying after a 503, in s. */
export const RETRY_AFTER_SEC = 1;

/** The request body is not JSON. */
export class UnsupportedMediaTypeError extends Error {
  override readonly name = 'UnsupportedMediaTypeError';
  constructor(readonly contentType: string | undefined) {
    super(`expected a JSON body with Content-Type: application/json${contentType ? `, got ${contentType}` : ''}`);
  }
}

/** No route matches the method and path. */
export class RouteNotFoundError extends Error {
  override readonly name = 'RouteNotFoundError';
  constructor(
    readonly method: string,
    readonly path: string,
  ) {
    super(`no route for ${method} ${path}`);
  }
}

/** An error thrown by express's body parser or router (it carries `status` and `type`). */
interface ExpressHttpError {
  status: number;
  type?: string;
  limit?: number;
  expose?: boolean;
  message: string;
}

function isExpressHttpError(error: unknown): error is ExpressHttpError {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

function answer(status: number, code: string, message: string, details: Record<string, unknown> = {}): HttpErrorAnswer {
  return { status, body: { error: { code, message, details } } };
}

/** The answer for an expected error, or undefined for anything else (a 500). */
export function toHttpError(error: unknown): HttpErrorAnswer | undefined {
  if (error instanceof UnknownJobError) {
    return answer(404, 'unknown_job', error.message, { name: error.jobName, known: error.known });
  }
  if (error instanceof JobNotFoundError) {
    return answer(404, 'job_not_found', error.message, { name: error.jobName, id: error.jobId });
  }
  if (error instanceof JobValidationError) {
    return answer(422, 'validation_failed', error.message, { issues: error.issues });
  }
  if (error instanceof IdempotencyConflictError) {
    return answer(409, 'idempotency_conflict', error.message, {
      id: error.jobId,
      queue: error.queue,
      ...(error.index !== undefined ? { index: error.index } : {}),
    });
  }
  if (error instanceof JobNotCancellableError) {
    const code = error.state === 'active' ? 'job_active' : 'job_finished';
    return answer(409, code, error.message, { name: error.jobName, id: error.jobId, state: error.state });
  }
  if (error instanceof ScheduledJobError) {
    return answer(409, 'job_scheduled', error.message, { name: error.jobName, id: error.jobId, state: error.state, schedule: error.scheduleId });
  }
  if (error instanceof EncryptionKeyMissingError) {
    // The service's fault, not the caller's: it has no key to seal the kind's sensitive fields.
    return answer(500, 'encryption_key_missing', error.message, { name: error.kind, fields: error.fields });
  }
  if (error instanceof UnknownTopicError) {
    return answer(404, 'unknown_topic', error.message, { topic: error.topic, known: error.known });
  }
  if (error instanceof ScheduleNotFoundError) {
    return answer(404, 'schedule_not_found', error.message, { id: error.scheduleId });
  }
  if (error instanceof TooManyItemsError) {
    return answer(413, 'too_many_items', error.message, { count: error.count, limit: error.limit });
  }
  if (error instanceof UnauthorizedError) {
    const challenge = error.reason === 'invalid' ? 'Bearer realm="conveyor", error="invalid_token"' : 'Bearer realm="conveyor"';
    return { ...answer(401, 'unauthorized', error.message), headers: { 'WWW-Authenticate': challenge } };
  }
  if (error instanceof ForbiddenError) {
    return answer(403, 'forbidden', error.message, { keyId: error.keyId, requiredScope: error.requiredScope });
  }
  if (error instanceof RateLimitedError) {
    return {
      ...answer(429, 'rate_limited', error.message, { retryAfterSec: error.retryAfterSec, limit: error.limit }),
      headers: { 'Retry-After': String(error.retryAfterSec) },
    };
  }
  if (error instanceof ForbiddenKeyError) {
    return answer(422, 'validation_failed', error.message, { issues: error.issues });
  }
  if (error instanceof RedisUnavailableError) {
    return {
      ...answer(503, 'redis_unavailable', 'the job store is unavailable; retry shortly', { retryAfterSec: RETRY_AFTER_SEC }),
      headers: { 'Retry-After': String(RETRY_AFTER_SEC) },
    };
  }
  if (error instanceof NotReplicatedError) {
    return {
      ...answer(503, 'not_replicated', error.message, {
        retryAfterSec: RETRY_AFTER_SEC,
        acknowledged: error.acknowledged,
        required: error.required,
        timeoutMs: error.timeoutMs,
        ids: error.jobIds,
      }),
      headers: { 'Retry-After': String(RETRY_AFTER_SEC) },
    };
  }
  if (error instanceof UnsupportedMediaTypeError) {
    return answer(415, 'unsupported_media_type', error.message, { expected: 'application/json' });
  }
  if (error instanceof RouteNotFoundError) {
    return answer(404, 'not_found', error.message, { method: error.method, path: error.path });
  }
  if (isExpressHttpError(error)) {
    switch (error.type) {
      case 'entity.parse.failed':
        return answer(400, 'invalid_json', `the body is not valid JSON: ${error.message}`);
      case 'entity.too.large':
        return answer(413, 'payload_too_large', `the body is larger than ${error.limit} bytes`, { limitBytes: error.limit });
      case 'charset.unsupported':
      case 'encoding.unsupported':
        return answer(415, 'unsupported_media_type', error.message, { expected: 'application/json' });
      default:
        return answer(error.status, 'bad_request', error.expose === false ? 'bad request' : error.message);
    }
  }
  return undefined;
}

/** Answers every error in the envelope; unexpected ones are logged with their stack. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (thrown, req, res, next) => {
    if (res.headersSent) return next(thrown);
    const mapped = toHttpError(thrown);
    if (!mapped) {
      logger.error({ err: coerceError(thrown), method: req.method, url: req.originalUrl, apiKeyId: res.locals.apiKeyId }, 'request failed');
    } else if (mapped.status === 503) {
      // The outage itself is logged once by the Redis client; one line per request would flood.
      logger.debug({ err: coerceError(thrown), method: req.method, url: req.originalUrl }, 'answered 503');
    }
    const { status, body, headers } = mapped ?? answer(500, 'internal', 'internal error');
    res.status(status).set(headers ?? {}).json(body);
  };
}

/** The last route: everything unmatched is a 404 `not_found`. */
export const notFoundHandler: RequestHandler = (req) => {
  throw new RouteNotFoundError(req.method, req.path);
};
