/**
 * The ways a request is refused before a route handles it: no or a wrong API key, a key
 * without the scope, a drained rate-limit bucket, a body with a prototype-polluting key.
 * The middleware throws them; `http-error.ts` maps each to one status and error code.
 */
import type { ApiKeyScope } from './auth/api-keys.ts';
import type { ValidationIssue } from './producer-errors.ts';

/** No `Authorization: Bearer <key>` header, or a key that is not configured. */
export class UnauthorizedError extends Error {
  override readonly name = 'UnauthorizedError';
  constructor(readonly reason: 'missing' | 'invalid') {
    super(
      reason === 'missing'
        ? 'this route needs an API key: send Authorization: Bearer <key>'
        : 'the API key is not valid',
    );
  }
}

/** The key is valid but lacks the scope the method needs. */
export class ForbiddenError extends Error {
  override readonly name = 'ForbiddenError';
  constructor(
    readonly keyId: string,
    readonly requiredScope: ApiKeyScope,
  ) {
    super(`API key "${keyId}" lacks the "${requiredScope}" scope this request needs`);
  }
}

/** The caller's token bucket is empty; `retryAfterSec` (≥ 1) is when enough has refilled. */
export class RateLimitedError extends Error {
  override readonly name = 'RateLimitedError';
  constructor(
    readonly retryAfterSec: number,
    readonly limit: number,
  ) {
    super(`rate limit exceeded; retry after ${retryAfterSec} s`);
  }
}

/** The JSON body has `__proto__`, `constructor` or `prototype` keys (`issues` names each path). */
export class ForbiddenKeyError extends Error {
  override readonly name = 'ForbiddenKeyError';
  constructor(readonly issues: readonly ValidationIssue[]) {
    super(`the body is refused: ${issues.map((issue) => `${issue.path || '(body)'}: ${issue.message}`).join('; ')}`);
  }
}
