/**
 * The body of a state-changing request: JSON only (415 otherwise), at most BODY_LIMIT_BYTES
 * (413), no `__proto__` / `constructor` / `prototype` key at any depth (422 naming each path,
 * see forbidden-keys.ts), and an object at the top (422 naming what was expected).
 */
import express, { type RequestHandler } from 'express';
import { rejectForbiddenKeys } from '../forbidden-keys.ts';
import { UnsupportedMediaTypeError } from '../http-error.ts';
import { JobValidationError } from '../producer-errors.ts';

/** Middleware that refuses a non-JSON body, then parses it within `limitBytes`. */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    if (!req.is('application/json')) throw new UnsupportedMediaTypeError(req.get('content-type'));
    next();
  };
  return [requireJson, express.json({ limit: limitBytes, type: 'application/json', strict: true }), rejectForbiddenKeys];
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The body as an object, or a 422 that shows the expected shape. */
export function objectBody(body: unknown, shape: string): Record<string, unknown> {
  if (isPlainObject(body)) return body;
  throw new JobValidationError([{ path: '', code: 'invalid_type', message: `expected a JSON object ${shape}` }]);
}
