/**
 * The worker's configuration, read from the environment once at start-up.
 *
 * Concurrency of a queue, most specific first:
 *   1. `WORKER_QUEUE_CONCURRENCY` for that queue (`report=2,email=50`);
 *   2. the queue's `concurrency` in the catalog (`report` declares 2);
 *   3. `WORKER_CONCURRENCY` (default 10).
 *
 * Lock duration, lock renewal, stalled-check interval and max stalled count of a queue, each
 * on its own:
 *   1. `WORKER_LOCK_DURATION_MS` / `WORKER_LOCK_RENEW_MS` / `WORKER_STALLED_INTERVAL_MS` /
 *      `WORKER_MAX_STALLED_COUNT` (one value for every queue this process works);
 *   2. the queue's `lockDurationMs` / `lockRenewMs` / `stalledIntervalMs` / `maxStalledCount`
 *      in the catalog;
 *   3. the defaults 15,000 / half the lock / 10,000 / 1 (`defaultQueueLockSettings`).
 *
 * Per-attempt timeout of a kind: `WORKER_JOB_TIMEOUT_MS` for that kind
 * (`webhook.deliver=2000,report.generate=60000`), else the kind's `policy.timeoutMs`.
 *
 * Fleet-wide limits of a queue (see fleet-limits.ts), each on its own:
 *   1. `WORKER_GLOBAL_CONCURRENCY` for that queue (`email=20,webhook=none`) /
 *      `WORKER_RATE_LIMIT` for that queue (`email=100/1000`: 100 starts per 1000 ms);
 *      `none` lifts the catalog's limit;
 *   2. the queue's `globalConcurrency` / `rateLimit` in the catalog;
 *   3. no limit.
 */
import {
  baseEnvShape,
  catalog,
  checkRedisTopology,
  redisTopologyOf,
  type RedisTopology,
  ConfigError,
  envBool,
  envInt,
  envList,
  fleetLimitsProblems,
  isJobName,
  jobNames,
  loadConfig,
  queueLockSettings,
  queueNames,
  type FleetLimits,
  type JobName,
  type PayloadKey,
  type RateLimit,
  type QueueDefinition,
  type QueueLockSettings,
  type QueueName,
} from '@conveyor/shared';
import { deadLetterEnvShape, deadLetterSettingsFrom, type DeadLetterSettings } from '@conveyor/shared';
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

/** `none` in a per-queue limit variable: this queue has no such limit, whatever the catalog says. */
const NO_LIMIT = 'none';

/**
 * A per-queue map variable `queue=value,…` whose values `parseValue` reads (undefined: not
 * that syntax; a string: why the value is out of range). `none` is taken as is.
 */
function perQueueLimits<T>(example: string, parseValue: (text: string) => T | string | undefined) {
  return envList('').transform((items, ctx) => {
    const overrides: Partial<Record<QueueName, T | typeof NO_LIMIT>> = {};
    for (const item of items) {
      const match = /^([^=\s]+)\s*=\s*(\S+)$/.exec(item);
      const [, queue = '', text = ''] = match ?? [];
      const value = text === NO_LIMIT ? NO_LIMIT : parseValue(text);
      if (!match || value === undefined) {
        ctx.addIssue({ code: 'custom', message: `"${item}" is not ${example}` });
      } else if (!isQueueName(queue)) {
        ctx.addIssue({ code: 'custom', message: `unknown queue "${queue}"; known queues: ${knownQueues()}` });
      } else if (typeof value === 'string' && value !== NO_LIMIT) {
        ctx.addIssue({ code: 'custom', message: `limit of "${queue}": ${value}` });
      } else if (queue in overrides) {
        ctx.addIssue({ code: 'custom', message: `queue "${queue}" is given twice` });
      } else {
        overrides[queue] = value;
      }
    }
    return overrides;
  });
}

/** `WORKER_GLOBAL_CONCURRENCY`: `queue=n` or `queue=none`, e.g. `email=20,webhook=none`. */
const workerGlobalConcurrency = perQueueLimits<number>('queue=number or queue=none (e.g. email=20,webhook=none)', (text) => {
  if (!/^\d+$/.test(text)) return undefined;
  const [problem] = fleetLimitsProblems({ globalConcurrency: Number(text) });
  return problem ?? Number(text);
});

/** `WORKER_RATE_LIMIT`: `queue=max/durationMs` or `queue=none`, e.g. `email=100/1000,webhook=none`. */
const workerRateLimit = perQueueLimits<RateLimit>('queue=max/durationMs or queue=none (e.g. email=100/1000)', (text) => {
  const match = /^(\d+)\/(\d+)$/.exec(text);
  if (!match) return undefined;
  const rateLimit = { max: Number(match[1]), durationMs: Number(match[2]) };
  const [problem] = fleetLimitsProblems({ rateLimit });
  return problem ?? rateLimit;
});

/** An integer variable with no default: unset means "not overridden". */
function optionalEnvInt(bounds: { min: number; max: number }) {
  return z
    .string()
    .trim()
    .regex(/^\d+$/, `expected an integer between ${bounds.min} and ${bounds.max}`)
    .transform(Number)
    .pipe(z.number().int().min(bounds.min).max(bounds.max))
    .optional();
}

const MAX_TIMEOUT_MS = 24 * 3_600_000;

/** `WORKER_JOB_TIMEOUT_MS`: `kind=ms` pairs, e.g. `webhook.deliver=2000,report.generate=60000`. */
const workerJobTimeouts = envList('').transform((items, ctx) => {
  const overrides: Partial<Record<JobName, number>> = {};
  for (const item of items) {
    const match = /^([^=\s]+)\s*=\s*(\d+)$/.exec(item);
    if (!match) {
      ctx.addIssue({ code: 'custom', message: `"${item}" is not kind=ms (e.g. webhook.deliver=2000)` });
      continue;
    }
    const [, name = '', ms = ''] = match;
    const timeoutMs = Number(ms);
    if (!isJobName(name)) {
      ctx.addIssue({ code: 'custom', message: `unknown job kind "${name}"; known kinds: ${jobNames.join(', ')}` });
    } else if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
      ctx.addIssue({ code: 'custom', message: `timeout of "${name}" must be between 1 and ${MAX_TIMEOUT_MS} ms` });
    } else {
      overrides[name] = timeoutMs;
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
  /** DEAD_LETTER_MAX_AGE_DAYS (30), DEAD_LETTER_MAX_COUNT (100,000), DEAD_LETTER_SWEEP_MS (15,000). */
  ...deadLetterEnvShape,
  /** Lock on a running job, in ms, for every queue; wins over the catalog. Default: the catalog's (15,000). */
  WORKER_LOCK_DURATION_MS: optionalEnvInt({ min: 1_000, max: MAX_TIMEOUT_MS }),
  /** Lock renewal interval, in ms, for every queue; below the lock duration. Default: the catalog's, else half the lock duration. */
  WORKER_LOCK_RENEW_MS: optionalEnvInt({ min: 100, max: MAX_TIMEOUT_MS }),
  /** Stalled-job check interval, in ms, for every queue; wins over the catalog. Default: the catalog's (10,000). */
  WORKER_STALLED_INTERVAL_MS: optionalEnvInt({ min: 100, max: MAX_TIMEOUT_MS }),
  /** Stalls a job may survive, for every queue; wins over the catalog. Default: the catalog's (1). */
  WORKER_MAX_STALLED_COUNT: optionalEnvInt({ min: 0, max: 1_000 }),
  /** Per-kind attempt timeout, `webhook.deliver=2000`; wins over the catalog's timeoutMs. */
  WORKER_JOB_TIMEOUT_MS: workerJobTimeouts,
  /** Per-queue fleet-wide concurrency, `email=20,webhook=none`; wins over the catalog's globalConcurrency. */
  WORKER_GLOBAL_CONCURRENCY: workerGlobalConcurrency,
  /** Per-queue fleet-wide rate limit, `email=100/1000` (starts per ms); wins over the catalog's rateLimit. */
  WORKER_RATE_LIMIT: workerRateLimit,
  /** Record the queue model's figures (wait, service, failures) for this process's queues. Default true. */
  WORKER_RECORD_FIGURES: envBool(true),
  /** A queue with waiting jobs and no progress here for this long makes health answer 503, in ms. Default 60,000. */
  WORKER_STUCK_AFTER_MS: envInt(60_000, { min: 100, max: MAX_TIMEOUT_MS }),
}).superRefine(checkRedisTopology);

export type WorkerEnv = z.output<typeof workerEnvSchema>;

export interface WorkerConfig {
  /** Where Redis is: REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES, with AUTH and TLS. */
  redisTopology: RedisTopology;
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
  /** Dead-letter retention and sweep interval. */
  deadLetter: DeadLetterSettings;
  /** Resolved lock and stalled-check settings of every selected queue. */
  locks: Partial<Record<QueueName, QueueLockSettings>>;
  /** Per-kind attempt timeouts that replace the catalog's, in ms (WORKER_JOB_TIMEOUT_MS). */
  jobTimeoutMs: Partial<Record<JobName, number>>;
  /** Resolved fleet-wide limits of every selected queue; `{}` means none (see fleet-limits.ts). */
  fleetLimits: Partial<Record<QueueName, FleetLimits>>;
  /** No progress for this long with jobs waiting makes the health endpoints answer 503, in ms. */
  stuckAfterMs: number;
  /** REDIS_ALLOW_EVICTION: start on a Redis that may evict keys, with a warning. */
  allowEviction: boolean;
  /** The queue model: whether this worker records figures, and how long their history is kept. */
  figures: { record: boolean; historyTtlSec: number };
  /** PAYLOAD_ENCRYPTION_KEYS: the keys that open sealed payload fields; empty when unset. */
  payloadKeys: PayloadKey[];
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

/** The lock settings of `queue`: env overrides (all queues), then catalog, then defaults. */
export function resolveLockSettings(queue: QueueName, overrides: Partial<QueueLockSettings>): QueueLockSettings {
  const fromCatalog = queueLockSettings(catalog.queues[queue]);
  const lockRenewMs = overrides.lockRenewMs ?? fromCatalog.lockRenewMs;
  return {
    lockDurationMs: overrides.lockDurationMs ?? fromCatalog.lockDurationMs,
    stalledIntervalMs: overrides.stalledIntervalMs ?? fromCatalog.stalledIntervalMs,
    maxStalledCount: overrides.maxStalledCount ?? fromCatalog.maxStalledCount,
    ...(lockRenewMs !== undefined ? { lockRenewMs } : {}),
  };
}

/** A queue's fleet-wide limits: env overrides (`none` lifts a limit), then its catalog definition's. */
export function resolveFleetLimits(
  definition: FleetLimits,
  overrides: { globalConcurrency?: number | typeof NO_LIMIT; rateLimit?: RateLimit | typeof NO_LIMIT },
): FleetLimits {
  const globalConcurrency = overrides.globalConcurrency ?? definition.globalConcurrency;
  const rateLimit = overrides.rateLimit ?? definition.rateLimit;
  return {
    ...(globalConcurrency !== undefined && globalConcurrency !== NO_LIMIT ? { globalConcurrency } : {}),
    ...(rateLimit !== undefined && rateLimit !== NO_LIMIT ? { rateLimit: { ...rateLimit } } : {}),
  };
}

/** Parses the environment (default `process.env`); throws a ConfigError naming every bad variable. */
export function loadWorkerConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  const parsed = loadConfig(workerEnvSchema, env);
  const concurrency: Partial<Record<QueueName, number>> = {};
  const locks: Partial<Record<QueueName, QueueLockSettings>> = {};
  const fleetLimits: Partial<Record<QueueName, FleetLimits>> = {};
  const lockOverrides: Partial<QueueLockSettings> = {
    ...(parsed.WORKER_LOCK_DURATION_MS !== undefined ? { lockDurationMs: parsed.WORKER_LOCK_DURATION_MS } : {}),
    ...(parsed.WORKER_STALLED_INTERVAL_MS !== undefined ? { stalledIntervalMs: parsed.WORKER_STALLED_INTERVAL_MS } : {}),
    ...(parsed.WORKER_MAX_STALLED_COUNT !== undefined ? { maxStalledCount: parsed.WORKER_MAX_STALLED_COUNT } : {}),
    ...(parsed.WORKER_LOCK_RENEW_MS !== undefined ? { lockRenewMs: parsed.WORKER_LOCK_RENEW_MS } : {}),
  };
  for (const queue of parsed.WORKER_QUEUES) {
    concurrency[queue] = resolveConcurrency(queue, {
      defaultConcurrency: parsed.WORKER_CONCURRENCY,
      overrides: parsed.WORKER_QUEUE_CONCURRENCY,
    });
    locks[queue] = resolveLockSettings(queue, lockOverrides);
    const globalConcurrency = parsed.WORKER_GLOBAL_CONCURRENCY[queue];
    const rateLimit = parsed.WORKER_RATE_LIMIT[queue];
    fleetLimits[queue] = resolveFleetLimits(catalog.queues[queue] as QueueDefinition, {
      ...(globalConcurrency !== undefined ? { globalConcurrency } : {}),
      ...(rateLimit !== undefined ? { rateLimit } : {}),
    });
    const { lockRenewMs, lockDurationMs } = locks[queue]!;
    if (lockRenewMs !== undefined && lockRenewMs >= lockDurationMs) {
      const variable = parsed.WORKER_LOCK_RENEW_MS !== undefined ? 'WORKER_LOCK_RENEW_MS' : 'WORKER_LOCK_DURATION_MS';
      throw new ConfigError([
        { variable, message: `the lock of queue "${queue}" (${lockDurationMs} ms) must last longer than its renewal interval (${lockRenewMs} ms)` },
      ]);
    }
  }
  return {
    redisTopology: redisTopologyOf(parsed),
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
    deadLetter: deadLetterSettingsFrom(parsed),
    locks,
    jobTimeoutMs: parsed.WORKER_JOB_TIMEOUT_MS,
    fleetLimits,
    stuckAfterMs: parsed.WORKER_STUCK_AFTER_MS,
    allowEviction: parsed.REDIS_ALLOW_EVICTION,
    figures: { record: parsed.WORKER_RECORD_FIGURES, historyTtlSec: parsed.QUEUE_MODEL_HISTORY_DAYS * 86_400 },
    payloadKeys: parsed.PAYLOAD_ENCRYPTION_KEYS,
  };
}
