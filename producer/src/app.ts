/**
 * The producer's HTTP app, without listening: `main.ts` (or a test) puts it on a server.
 * Every route is registered in the block below; every error leaves through `errorHandler`.
 */
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Logger } from '@conveyor/shared';
import { DEFAULT_BULK_MAX_JOBS, type Producer } from './client.ts';
import type { ApiKey } from './auth/api-keys.ts';
import { authenticate } from './auth/authenticate.ts';
import { errorHandler, notFoundHandler } from './http-error.ts';
import { rateLimit } from './rate-limit/rate-limit.ts';
import type { TokenBucket } from './rate-limit/token-bucket.ts';
import { bulkRouter } from './routes/bulk.ts';
import { docsRouter } from './routes/docs.ts';
import { eventsRouter } from './routes/events.ts';
import { healthRouter } from './routes/health.ts';
import { jobsRouter } from './routes/jobs.ts';
import { metricsRouter } from './routes/metrics.ts';
import { schedulesRouter } from './routes/schedules.ts';

export interface AppDeps {
  producer: Pick<Producer, 'enqueueUnknown' | 'enqueueBulkUnknown' | 'getJob' | 'cancel' | 'publishUnknown' | 'schedules' | 'ping'>;
  logger: Logger;
  /** Largest accepted request body, in bytes; larger gets 413. */
  bodyLimitBytes: number;
  /** Most jobs one bulk request may carry; more gets 413. Default 1,000. */
  bulkMaxJobs?: number;
  /** Keys that may call `/v1` (401/403 otherwise). Default none: `/v1` is open. */
  apiKeys?: readonly ApiKey[];
  /** Per-client token bucket in front of `/v1` (429 when empty). Default none: no limit. */
  rateLimiter?: TokenBucket;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // Answers are per request (ids, states): an ETag would cost a SHA-1 of every body for nothing.
  app.set('etag', false);
  // No HSTS and no upgrade-insecure-requests: the service is reached over plain HTTP.
  app.use(
    helmet({
      strictTransportSecurity: false,
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
    }),
  );

  // Everything under /v1: key and scope, then the rate limit, both before the body is read.
  // The hot routes come first: express tries layers in order, on every request.
  app.use('/v1', authenticate(deps.apiKeys ?? []), rateLimit(deps.rateLimiter));
  const bulkMaxJobs = deps.bulkMaxJobs ?? DEFAULT_BULK_MAX_JOBS;
  app.use('/v1/jobs', jobsRouter(deps));
  app.use('/v1', bulkRouter({ ...deps, bulkMaxJobs }));
  app.use('/v1', eventsRouter(deps));
  app.use('/v1/schedules', schedulesRouter(deps));

  app.use(healthRouter(deps));
  app.use(metricsRouter());
  // GET /openapi.json and /docs: public, outside /v1.
  app.use(docsRouter({ bodyLimitBytes: deps.bodyLimitBytes, bulkMaxJobs: deps.bulkMaxJobs }));

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
