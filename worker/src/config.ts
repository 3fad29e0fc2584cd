/**
 * The worker's configuration, read from the environment once at start-up.
 *
 * Concurrency of a queue, most specific first:
 *   1. `WORKER_QUEUE_CONCURRENCY` for that queue (`report=2,email=50`);
 *   2. the queue's `concurrency` in the catalog (`report` declares 2);
 *   3. `WORKER_CONCURRENCY` (default 10).
 */
import { baseEnvShape, catalog, envInt, envList, loadConfig, queueNames, type QueueDefinition, type QueueName } from '@conveyor/shared';
import { z } from 'zod';

/** The signing secret used when WEBHOOK_SIGNING_SECRET is unset; start-up warns about it. */
export const DEV_WEBHOOK_SIGNING_SECRET = 'conveyor-insecure-development-webhook-secret';

const MAX_CONCURRENCY = 1_000;

function isQueueName(name: string): name is QueueName {
  return (queueNames as readonly string[]).includes(name);
}

function knownQueues(): string {
  return queueNames.join(', ');
}

/** `WORKER_QUEUES`: a comma list of catalog queues; empty or unset means every queue. */
const workerQueues = envList('').transform((names, ctx) => {
  const unknown = names.filter((name) => !isQueueName(name));
  if (unknown.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message: `unknown queue${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')}; known queues: ${knownQueues()}`,
    });
    return z.NEVER;
  }
  const selected = names.length > 0 ? (names as QueueName[]) : queueNames;
  return [...new Set(selected)];
});

/** `WORKER_QUEUE_CONCURRENCY`: `queue=n` pairs, e.g. `report=2,email=50`. */
const workerQueueConcurrency = envList('').transform((items, ctx) => {
  const overrides: Partial<Record<QueueName, number>> = {};
  for (const item of items) {
    const match = /^([^=\s]+)\s*=\s*(\d+)$/.exec(item);
    if (!match) {
      ctx.addIssue({ code: 'custom', message: `"${item}" is not queue=number (e.g. report=2,email=50)` });
      continue;
    }
    const [, queue = '', count = ''] = match;
    const concurrency = Number(count);
    if (!isQueueName(queue)) {
      ctx.addIssue({ code: 'custom', message: `unknown queue "${queue}"; known queues: ${knownQueues()}` });
    } else if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
      ctx.addIssue({ code: 'custom', message: `concurrency of "${queue}" must be between 1 and ${MAX_CONCURRENCY}` });
    } else {
      overrides[queue] = concurrency;
    }
  }
  return overrides;
});

export const workerEnvSchema = z.object({
  ...baseEnvShape,
  /** Health server port. Default 3002; 0 picks any free port (several workers on one machine). */
  PORT: envInt(3002, { min: 0, max: 65_535 }),
  /** Queues this process works. Default: every catalog queue. */
  WORKER_QUEUES: workerQueues,
  /** Jobs run at once per queue when neither override applies. Default 10. */
  WORKER_CONCURRENCY: envInt(10, { min: 1, max: MAX_CONCURRENCY }),
  /** Per-queue concurrency, `report=2,email=50`; wins over the catalog and WORKER_CONCURRENCY. */
  WORKER_QUEUE_CONCURRENCY: workerQueueConcurrency,
  /** How long active jobs may run on after SIGTERM/SIGINT before they are aborted, in ms. Default 30,000. */
  SHUTDOWN_TIMEOUT_MS: envInt(30_000, { min: 0, max: 24 * 3_600_000 }),
  /** Simulated latency of email.send, in ms. Default 50; 0 allowed. */
  EMAIL_LATENCY_MS: envInt(50, { min: 0, max: 600_000 }),
  /** HMAC-SHA256 key of webhook signatures. Default: a development secret (warned about). */
  WEBHOOK_SIGNING_SECRET: z.string().min(1, 'must not be empty').default(DEV_WEBHOOK_SIGNING_SECRET),
  /** Longest one webhook request may take, response included, in ms. Default 10,000. */
  WEBHOOK_TIMEOUT_MS: envInt(10_000, { min: 1, max: 600_000 }),
  /** Hostnames or IPs that may be delivered to although they are loopback/private. Default none. */
  WEBHOOK_ALLOWED_HOSTS: envList('').transform((hosts) => hosts.map(normalizeHost)),
  /** Duration of each of report.generate's 10 steps, in ms. Default 100. */
  REPORT_STEP_DELAY_MS: envInt(100, { min: 0, max: 600_000 }),
});

export type WorkerEnv = z.output<typeof workerEnvSchema>;

export interface WorkerConfig {
  redisUrl: string;
  prefix: string;
  logLevel: WorkerEnv['LOG_LEVEL'];
  /** Health server address; port 0 means any free port. */
  host: string;
  port: number;
  queues: QueueName[];
  /** Resolved concurrency of every selected queue. */
  concurrency: Partial<Record<QueueName, number>>;
  shutdownTimeoutMs: number;
  email: { latencyMs: number };
  webhook: { signingSecret: string; usesDevSecret: boolean; timeoutMs: number; allowedHosts: string[] };
  report: { stepDelayMs: number };
}

/** Lower-cases a host and drops IPv6 brackets, the form `new URL(...).hostname` is compared in. */
export function normalizeHost(host: string): string {
  return host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
}

/** The concurrency of `queue`: env override, then catalog, then the worker-wide default. */
export function resolveConcurrency(
  queue: QueueName,
  settings: { defaultConcurrency: number; overrides: Partial<Record<QueueName, number>> },
): number {
  const definition: QueueDefinition = catalog.queues[queue];
  return settings.overrides[queue] ?? definition.concurrency ?? settings.defaultConcurrency;
}

/** Parses the environment (default `process.env`); throws a ConfigError naming every bad variable. */
export function loadWorkerConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  const parsed = loadConfig(workerEnvSchema, env);
  const concurrency: Partial<Record<QueueName, number>> = {};
  for (const queue of parsed.WORKER_QUEUES) {
    concurrency[queue] = resolveConcurrency(queue, {
      defaultConcurrency: parsed.WORKER_CONCURRENCY,
      overrides: parsed.WORKER_QUEUE_CONCURRENCY,
    });
  }
  return {
    redisUrl: parsed.REDIS_URL,
    prefix: parsed.CONVEYOR_PREFIX,
    logLevel: parsed.LOG_LEVEL,
    host: parsed.HOST,
    port: parsed.PORT,
    queues: parsed.WORKER_QUEUES,
    concurrency,
    shutdownTimeoutMs: parsed.SHUTDOWN_TIMEOUT_MS,
    email: { latencyMs: parsed.EMAIL_LATENCY_MS },
    webhook: {
      signingSecret: parsed.WEBHOOK_SIGNING_SECRET,
      usesDevSecret: parsed.WEBHOOK_SIGNING_SECRET === DEV_WEBHOOK_SIGNING_SECRET,
      timeoutMs: parsed.WEBHOOK_TIMEOUT_MS,
      allowedHosts: parsed.WEBHOOK_ALLOWED_HOSTS,
    },
    report: { stepDelayMs: parsed.REPORT_STEP_DELAY_MS },
  };
}
