/**
 * The API-key gate in front of `/v1`: with keys configured, a request must carry
 * `Authorization: Bearer <key>` (else 401) for a key whose scopes cover the method (else 403).
 * The key's id goes on `res.locals.apiKeyId` for logs and the rate limit; the key itself is
 * never stored or logged. With no keys configured, every request passes (`main.ts` then binds
 * loopback only).
 */
import type { RequestHandler } from 'express';
import { ForbiddenError, UnauthorizedError } from '../access-errors.ts';
import { findApiKey, hasScope, type ApiKey, type ApiKeyScope } from './api-keys.ts';

declare global {
  namespace Express {
    interface Locals {
      /** The id of the request's API key, once `authenticate` accepted it; unset without keys. */
      apiKeyId?: string;
    }
  }
}

/** The scope a method needs: reads `read`, POST `enqueue`, everything else (PUT, PATCH, DELETE…) `admin`. */
export function requiredScope(method: string): ApiKeyScope {
  switch (method.toUpperCase()) {
    case 'GET':
    case 'HEAD':
      return 'read';
    case 'POST':
      return 'enqueue';
    default:
      return 'admin';
  }
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** Checks the bearer key of every request; `apiKeys` empty means no authentication. */
export function authenticate(apiKeys: readonly ApiKey[]): RequestHandler {
  return (req, res, next) => {
    if (apiKeys.length === 0) return next();
    const header = req.get('authorization');
    if (header === undefined || header.trim() === '') throw new UnauthorizedError('missing');
    const presented = BEARER.exec(header)?.[1];
    const key = presented === undefined ? undefined : findApiKey(apiKeys, presented);
    if (!key) throw new UnauthorizedError('invalid');
    res.locals.apiKeyId = key.id;
    const scope = requiredScope(req.method);
    if (!hasScope(key, scope)) throw new ForbiddenError(key.id, scope);
    next();
  };
}
