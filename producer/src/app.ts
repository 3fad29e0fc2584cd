/**
 * The producer's HTTP app, without listening: `main.ts` (or a test) puts it on a server.
 * Every route is registered in the block below; every error leaves through `errorHandler`.
 */
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Logger } from '@conveyor/shared';
import type { Producer } from './client.ts';
import { errorHandler, notFoundHandler } from './http-error.ts';
import { healthRouter } from './routes/health.ts';
import { jobsRouter } from './routes/jobs.ts';
import { metricsRouter } from './routes/metrics.ts';

export interface AppDeps {
  producer: Pick<Producer, 'enqueueUnknown' | 'getJob' | 'ping'>;
  logger: Logger;
  /** Largest accepted request body, in bytes; larger gets 413. */
  bodyLimitBytes: number;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // No HSTS and no upgrade-insecure-requests: the service is reached over plain HTTP.
  app.use(
    helmet({
      strictTransportSecurity: false,
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
    }),
  );

  app.use(healthRouter(deps));
  app.use(metricsRouter());
  app.use('/v1/jobs', jobsRouter(deps));

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
