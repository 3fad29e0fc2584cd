/**
 * The one place errors become HTTP answers. Every error leaves in the same envelope,
 * `{"error": {"code", "message", "details"}}`; a browser asking for a page (not an API or
 * probe path) gets the same facts as a small HTML page instead.
 */
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { coerceError, type Logger } from '@conveyor/shared';
import { RedisUnavailableError } from './redis-call.ts';
import { renderErrorPage } from './ui/error-page.ts';

/** Seconds a client should wait before retrying after a 503. */
export const RETRY_AFTER_SEC = 5;

export interface ErrorEnvelope {
  error: { code: string; message: string; details?: unknown };
}

export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  toEnvelope(): ErrorEnvelope {
    return {
      error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) },
    };
  }
}

/** 503 `redis_unavailable` with Retry-After. */
export function redisUnavailable(message: string): HttpError {
  return new HttpError(503, 'redis_unavailable', message, undefined, { 'Retry-After': String(RETRY_AFTER_SEC) });
}

/** Maps anything thrown to the HttpError it is answered with. */
export function toHttpError(thrown: unknown): HttpError {
  if (thrown instanceof HttpError) return thrown;
  if (thrown instanceof RedisUnavailableError) return redisUnavailable(thrown.message);
  const error = coerceError(thrown);
  // Express and its middleware mark client errors (a malformed URL, say) with a 4xx status.
  const status = (error as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpError(status, 'bad_request', error.message);
  }
  return new HttpError(500, 'internal_error', 'The dashboard failed to answer; see its logs.');
}

/** API and probe paths always answer JSON; other paths answer HTML to clients that prefer it. */
export function prefersHtml(req: Request): boolean {
  if (/^\/(api|queues\/api)(\/|$)|^\/(healthz|readyz)$/.test(req.path)) return false;
  return req.accepts(['json', 'html']) === 'html';
}

export function sendError(req: Request, res: Response, error: HttpError): void {
  res.status(error.status).set(error.headers);
  if (prefersHtml(req)) {
    res.type('html').send(renderErrorPage({ status: error.status, code: error.code, message: error.message }));
  } else {
    res.json(error.toEnvelope());
  }
}

/** The last route: anything unmatched is a 404. */
export function notFoundHandler(): RequestHandler {
  return (req, res) => {
    sendError(req, res, new HttpError(404, 'not_found', `No route for ${req.method} ${req.path}`));
  };
}

/** The error middleware: logs server faults, answers every error in the envelope. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (thrown: unknown, req, res, next) => {
    if (res.headersSent) return next(thrown);
    const error = toHttpError(thrown);
    if (error.status >= 500 && error.code === 'internal_error') {
      logger.error({ err: coerceError(thrown), method: req.method, path: req.path }, 'request failed');
    } else {
      // Expected outcomes (an outage, a bad URL) are logged quietly: the UI polls during outages.
      logger.debug({ code: error.code, path: req.path, reason: error.message }, 'request answered with an error');
    }
    sendError(req, res, error);
  };
}
