/**
 * The worker's health endpoint, on its own port:
 * - `GET /healthz` → 200 while the process is up, with the queues it works, their
 *   concurrency and running totals;
 * - `GET /readyz` → 200 when every BullMQ Worker is running with its Redis connection
 *   ready, else 503 `not_ready`.
 * Both answer 503 `stalled_worker`, with per-queue details, when a queue has had jobs
 * waiting and no progress here for WORKER_STUCK_AFTER_MS although this worker had room for
 * them (progress-watch.ts): a wedged worker should be restarted, not trusted.
 * - `GET /metrics` → this process's metrics in the Prometheus text format (CPU, memory,
 *   event-loop lag…; @conveyor/shared process-metrics.ts), always, stalled or not.
 * Errors use the one envelope `{"error": {"code", "message", "details"}}`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { coerceError, PROMETHEUS_CONTENT_TYPE, renderProcessMetrics, withDeadline, type Logger, type QueueName } from '@conveyor/shared';
import type { Worker } from 'bullmq';
import type { ProgressWatch } from './progress-watch.ts';
import type { WorkerStats } from './start-worker.ts';

export interface HealthServerDeps {
  workers: ReadonlyMap<QueueName, Worker>;
  concurrency: Partial<Record<QueueName, number>>;
  stats: WorkerStats;
  logger: Logger;
  /** Wedged-worker detection; without it the endpoints never answer `stalled_worker`. */
  progress?: ProgressWatch;
}

/** How long /readyz waits for a worker's Redis client, in ms. */
const READINESS_PROBE_TIMEOUT_MS = 500;

class HealthError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

interface WorkerReadiness {
  running: boolean;
  redis: string;
}

/** A route's answer in another format than JSON. */
class TextBody {
  constructor(
    readonly contentType: string,
    readonly text: string,
  ) {}
}

type Route = (deps: HealthServerDeps) => Promise<unknown>;

/** Throws the 503 `stalled_worker` when a queue is wedged (see progress-watch.ts). */
async function refuseWhenStuck(progress: ProgressWatch | undefined): Promise<void> {
  if (!progress) return;
  const report = await progress.check();
  if (report.stuck.length === 0) return;
  throw new HealthError(
    503,
    'stalled_worker',
    `no progress for ${report.stuckAfterMs} ms on ${report.stuck.join(', ')} although jobs are waiting`,
    { stuck: report.stuck, stuckAfterMs: report.stuckAfterMs, queues: report.queues },
  );
}

const routes: Record<string, Route> = {
  '/healthz': async ({ workers, concurrency, stats, progress }) => {
    await refuseWhenStuck(progress);
    return healthBody(workers, concurrency, stats);
  },
  '/readyz': async ({ workers, progress }) => {
    const entries = await Promise.all(
      [...workers].map(async ([queue, worker]) => [queue, await readinessOf(worker)] as const),
    );
    const queues = Object.fromEntries(entries);
    const notReady = entries.filter(([, state]) => !state.running || state.redis !== 'ready').map(([queue]) => queue);
    if (notReady.length > 0) {
      throw new HealthError(503, 'not_ready', `not ready: ${notReady.join(', ')}`, { queues });
    }
    await refuseWhenStuck(progress);
    return { status: 'ready', queues };
  },
  '/metrics': async () => new TextBody(PROMETHEUS_CONTENT_TYPE, await renderProcessMetrics()),
};

function healthBody(workers: HealthServerDeps['workers'], concurrency: HealthServerDeps['concurrency'], stats: WorkerStats) {
  return {
    status: 'ok',
    queues: [...workers.keys()],
    concurrency,
    processed: stats.processed,
    failed: stats.failed,
    active: stats.active,
  };
}

/** An HTTP server (not yet listening) answering /healthz, /readyz and /metrics. */
export function createHealthServer(deps: HealthServerDeps): Server {
  return createServer((req, res) => {
    answer(req, deps).then(
      (body) => send(res, 200, body),
      (thrown: unknown) => {
        const error =
          thrown instanceof HealthError ? thrown : new HealthError(500, 'internal', 'health check failed');
        if (!(thrown instanceof HealthError)) deps.logger.error({ err: coerceError(thrown) }, 'health check failed');
        send(res, error.status, { error: { code: error.code, message: error.message, details: error.details } });
      },
    );
  });
}

async function answer(req: IncomingMessage, deps: HealthServerDeps): Promise<unknown> {
  const path = new URL(req.url ?? '/', 'http://worker').pathname;
  const route = routes[path];
  if (!route) throw new HealthError(404, 'not_found', `no route ${path}`, { routes: Object.keys(routes) });
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    throw new HealthError(405, 'method_not_allowed', `${req.method} is not allowed on ${path}`, { allowed: ['GET'] });
  }
  return route(deps);
}

async function readinessOf(worker: Worker): Promise<WorkerReadiness> {
  const running = worker.isRunning() && !worker.closing;
  try {
    const client = await withDeadline(worker.backend.client, READINESS_PROBE_TIMEOUT_MS, 'the Redis client');
    return { running, redis: client.status };
  } catch {
    return { running, redis: 'connecting' };
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = body instanceof TextBody ? body.text : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': body instanceof TextBody ? body.contentType : 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}
