/**
 * The autoscaling signal: how many worker processes a queue needs now, from the queue model's
 * live figures (reader.ts). The dashboard exposes it as the gauge
 * `conveyor_queue_recommended_workers`; an autoscaler (KEDA, or an HPA on an external metric,
 * deploy/kubernetes/) sets the worker Deployment's replicas to it.
 *
 * The rule, in job slots first (one slot runs one job at a time), then in processes:
 *
 *   steady  = λ·S / u        slots busy on average to keep up with arrivals (Little's law:
 *                            λ jobs/s each holding a slot S seconds), divided by the target
 *                            utilization u (default 0.7), so that 30 % of the slots stay free
 *                            for bursts and for the waits that pile up as ρ nears 1
 *   drain   = B·S / T        slots that work off the current backlog B within T seconds
 *                            (default 300): B jobs are B·S slot-seconds of work
 *   workers = ⌈(steady + drain) / k⌉, at least 1 when there is any work
 *
 * where k is the slots one worker process gives the queue: the live workers' total concurrency
 * over their number (what the running processes were really configured with), or, with none
 * live, the worker's default for the queue (the catalog's `concurrency`, else
 * WORKER_CONCURRENCY's default of 10, worker/src/config.ts).
 *
 * The drain term is not divided by u: it is a one-off amount of work with its own deadline,
 * and the steady term already keeps the headroom. As the backlog goes, so does the term, and
 * the recommendation settles at the steady term; nothing in the rule reads the current replica
 * count except through k, so it does not feed back on itself. Smoothing scale-downs is the
 * autoscaler's job (its stabilization window), not this figure's.
 *
 * The figures it reads, and what stands in for one that is not known:
 *
 *   λ   the 1-minute arrival rate, once its two counter snapshots are at least 30 s apart
 *       (MIN_RATE_SPAN_MS). Over a shorter span (the first seconds of a queue, or of the model's
 *       keys) a burst of enqueues reads as an enormous rate: 600 jobs added in the second after
 *       the first snapshot are "600 jobs/s". Until then the jobs in service now stand in for
 *       λ·S (Little's law again, observed), and the backlog term sizes the burst.
 *   S   the 1-minute mean service time; a queue no worker touched in the last minute (scaled
 *       to zero, say) has none, so the caller may pass a longer-run mean (the dashboard passes
 *       the since-the-start mean of conveyor_job_service_seconds). With no S at all the backlog
 *       cannot be sized, and the rule holds: max(1, live workers), so that a worker starts and
 *       measures S, and live ones are not stopped mid-work.
 *
 * Why a held value rather than "unknown" (no series): an autoscaler reads a missing series as
 * 0 (KEDA's `ignoreNullValues` is on by default), which would stop the workers of a queue
 * with jobs waiting, or never start the first one. So the figure is always a number: 0 only
 * for a queue that is idle and empty (no backlog, nothing in service, no arrivals).
 *
 * Known limits: S counts every attempt and λ every job, so jobs that are retried often are
 * under-sized by their extra attempts (the retries come back through the backlog, which the
 * drain term sees); a paused queue keeps a backlog that more workers cannot drain.
 */
import { queueDefinitions, type QueueDefinition, type QueueName } from '../catalog/index.ts';
import type { QueueFigures } from './reader.ts';

/** The metric name of the recommendation on the dashboard's /metrics (one series per queue). */
export const RECOMMENDED_WORKERS_METRIC = 'conveyor_queue_recommended_workers';

/** Jobs a worker process runs at once on a queue without a catalog or env setting (WORKER_CONCURRENCY's default). */
export const DEFAULT_WORKER_CONCURRENCY = 10;

/** The shortest span an arrival rate is trusted over, in ms (see the header). */
export const MIN_RATE_SPAN_MS = 30_000;

/** What the recommendation aims at. */
export interface AutoscaleTargets {
  /** Share of the job slots busy in the steady state, above 0 and at most 1. Default 0.7. */
  targetUtilization: number;
  /** Time to work off the current backlog in, on top of keeping up with arrivals, in s. Default 300. */
  drainSec: number;
}

export const DEFAULT_AUTOSCALE_TARGETS: Readonly<AutoscaleTargets> = { targetUtilization: 0.7, drainSec: 300 };

/** The figures the rule reads, apart from the rest of QueueFigures. */
export interface QueueLoad {
  /** λ, jobs/s; null when not yet measured. */
  arrivalRate: number | null;
  /** S, the mean service time of an attempt, in ms; null when no attempt was measured. */
  serviceMs: number | null;
  /** Jobs ready to run and not started. */
  backlog: number;
  /** Jobs running now. */
  inService: number;
  /** Live worker processes on the queue, and their job slots together. */
  liveWorkers: number;
  liveSlots: number;
}

export interface WorkerRecommendation {
  /** Worker processes to run: 0 only when the queue is idle and empty. */
  workers: number;
  /**
   * `idle`: no work, 0. `sized`: from the rule above. `held`: work but no service time to
   * size it by, so max(1, live workers).
   */
  basis: 'idle' | 'sized' | 'held';
  /** Slots to keep up with arrivals (λ·S/u) and to drain the backlog (B·S/T); 0 unless sized. */
  steadySlots: number;
  drainSlots: number;
  /** Slots one worker process gives the queue (k). */
  slotsPerWorker: number;
}

export interface RecommendWorkersOptions {
  /** The targets; each one missing takes DEFAULT_AUTOSCALE_TARGETS'. */
  targets?: Partial<AutoscaleTargets>;
  /** Slots per worker process when no worker is live (k without live workers); at least 1. */
  defaultSlotsPerWorker: number;
}

/** Float noise such as 2.0000000000000004 slots must not round up to one more worker. */
const ROUNDING_SLACK = 1e-9;

/** The worker processes `load` needs (the rule in the header). */
export function recommendWorkers(load: QueueLoad, options: RecommendWorkersOptions): WorkerRecommendation {
  const { targetUtilization, drainSec } = { ...DEFAULT_AUTOSCALE_TARGETS, ...options.targets };
  if (!(targetUtilization > 0 && targetUtilization <= 1)) throw new RangeError(`targetUtilization must be in (0, 1], got ${targetUtilization}`);
  if (!(drainSec > 0)) throw new RangeError(`drainSec must be above 0, got ${drainSec}`);
  if (!(options.defaultSlotsPerWorker >= 1)) throw new RangeError(`defaultSlotsPerWorker must be at least 1, got ${options.defaultSlotsPerWorker}`);

  const { arrivalRate, serviceMs, backlog, inService, liveWorkers, liveSlots } = load;
  const slotsPerWorker = liveWorkers > 0 && liveSlots > 0 ? liveSlots / liveWorkers : options.defaultSlotsPerWorker;
  const none = { steadySlots: 0, drainSlots: 0, slotsPerWorker };

  const hasWork = backlog > 0 || inService > 0 || (arrivalRate ?? 0) > 0;
  if (!hasWork) return { workers: 0, basis: 'idle', ...none };
  if (serviceMs === null || !(serviceMs >= 0)) return { workers: Math.max(1, liveWorkers), basis: 'held', ...none };

  const serviceSec = serviceMs / 1_000;
  const busySlots = arrivalRate === null ? inService : arrivalRate * serviceSec;
  const steadySlots = busySlots / targetUtilization;
  const drainSlots = (backlog * serviceSec) / drainSec;
  const workers = Math.max(1, Math.ceil((steadySlots + drainSlots) / slotsPerWorker - ROUNDING_SLACK));
  return { workers, basis: 'sized', steadySlots, drainSlots, slotsPerWorker };
}

/**
 * The load of a queue from its figures: λ and S over the last minute (λ only when measured over
 * MIN_RATE_SPAN_MS or more). `fallbackServiceMs` stands in for S when the minute has no
 * attempt (a longer-run mean; null: none).
 */
export function queueLoadOf(figures: QueueFigures, fallbackServiceMs: number | null = null): QueueLoad {
  const minute = figures.windows['1m'];
  const rateSpanMs = minute.ratesFromMs === null ? 0 : minute.toMs - minute.ratesFromMs;
  return {
    arrivalRate: rateSpanMs >= MIN_RATE_SPAN_MS ? minute.arrivalRate : null,
    serviceMs: minute.service.meanMs ?? fallbackServiceMs,
    backlog: figures.backlog.total,
    inService: figures.inService,
    liveWorkers: figures.workers.live,
    liveSlots: figures.workers.concurrency,
  };
}

/** Slots a worker process gives `queue` by default: the catalog's concurrency, else DEFAULT_WORKER_CONCURRENCY. */
export function defaultSlotsPerWorker(queue: string): number {
  const definition: QueueDefinition | undefined = Object.hasOwn(queueDefinitions, queue) ? queueDefinitions[queue as QueueName] : undefined;
  return definition?.concurrency ?? DEFAULT_WORKER_CONCURRENCY;
}

/** The recommended worker count of a queue, from its figures (see the header). */
export function recommendedWorkers(
  figures: QueueFigures,
  options: { targets?: Partial<AutoscaleTargets>; fallbackServiceMs?: number | null; defaultSlotsPerWorker?: number } = {},
): number {
  return recommendWorkers(queueLoadOf(figures, options.fallbackServiceMs ?? null), {
    ...(options.targets ? { targets: options.targets } : {}),
    defaultSlotsPerWorker: options.defaultSlotsPerWorker ?? defaultSlotsPerWorker(figures.queue),
  }).workers;
}
