/**
 * The rate limit in front of `/v1`: each request takes one token from its client's bucket —
 * the API key's id when keys are configured, else the client's IP address — before its body
 * is read. An empty bucket answers 429 `rate_limited` with `Retry-After`; every answer carries
 * `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (draft-ietf-httpapi-ratelimit-headers).
 * Bulk routes call `chargeRateLimit(res, jobs - 1)` once the items are validated, with the jobs
 * they are about to enqueue, so that a bulk request costs one token per job and a refused one
 * (422) or a refused item nothing beyond the entry token. When Redis is away the take throws RedisUnavailableError
 * and the request answers 503, as every route that needs Redis does.
 */
import type { Request, RequestHandler, Response } from 'express';
import { RateLimitedError } from '../access-errors.ts';
import type { TokenBucket, TokenTake } from './token-bucket.ts';

/** Each limited response's way to take more tokens, for `chargeRateLimit`. */
const charges = new WeakMap<Response, (tokens: number) => Promise<void>>();

/** Who a request counts against: `key:<id>` after authentication, else `ip:<address>`. */
export function rateLimitClient(req: Request, res: Response): string {
  const { apiKeyId } = res.locals;
  return apiKeyId !== undefined ? `key:${apiKeyId}` : `ip:${req.ip ?? req.socket.remoteAddress ?? 'unknown'}`;
}

/** Limits every request by its client's token bucket; no bucket means no limit. */
export function rateLimit(bucket: TokenBucket | undefined): RequestHandler {
  return async (req, res, next) => {
    if (!bucket) return next();
    const client = rateLimitClient(req, res);
    const charge = async (tokens: number) => {
      if (tokens <= 0) return;
      answerTake(res, bucket, await bucket.take(client, tokens));
    };
    charges.set(res, charge);
    await charge(1);
    next();
  };
}

/**
 * Takes `tokens` more from the bucket of the request's client (a bulk route: one per job
 * beyond the first); throws RateLimitedError (429) when they are not there. A no-op when no
 * limit is configured.
 */
export async function chargeRateLimit(res: Response, tokens: number): Promise<void> {
  await charges.get(res)?.(tokens);
}

function answerTake(res: Response, bucket: TokenBucket, take: TokenTake): void {
  res.set({
    'RateLimit-Limit': String(bucket.burst),
    'RateLimit-Remaining': String(take.remaining),
    'RateLimit-Reset': String(Math.ceil(take.fullInMs / 1000)),
  });
  if (!take.allowed) throw new RateLimitedError(Math.max(1, Math.ceil(take.retryAfterMs / 1000)), bucket.burst);
}
