/**
 * The queue figures as Prometheus metrics, labelled by `queue`. They are read at scrape time
 * (one `readQueueModel` and one `readLatencyTotals` for all catalog queues: O(queues) Redis
 * calls, whatever the job count) and rendered into a fresh registry each time. Nothing is kept
 * between scrapes: every counter is a counter in Redis, so restarting the dashboard, or
 * running two, never makes one go backwards or count twice.
 *
 * Counters and gauges go through prom-client (its name checks, escaping and format).
 * prom-client's Histogram only takes one observation at a time and cannot expose counts that
 * are already bucketed (it has no counterpart of Python's HistogramMetricFamily), so the two
 * histograms are written here, in the same text format.
 */
import {
  DEFAULT_AUTOSCALE_TARGETS,
  meanOf,
  readLatencyTotals,
  readQueueModel,
  RECOMMENDED_WORKERS_METRIC,
  recommendedWorkers,
  toPrometheusHistogram,
  type AutoscaleTargets,
  type Histogram,
  type LatencyTotals,
  type QueueFigures,
} from '@conveyor/shared';
import type { RedisClient } from '@conveyor/shared';
import { Counter, Gauge, Registry } from 'prom-client';
import { callRedis } from './redis-call.ts';

/** What a queue's value may read besides its figures. */
interface QueueMetricContext {
  /** The queue's since-the-start histograms; absent when not read. */
  latency: LatencyTotals | undefined;
  /** The targets of conveyor_queue_recommended_workers (DASHBOARD_AUTOSCALE_*). */
  autoscale: AutoscaleTargets;
}

/** A counter or gauge with one series per queue. */
interface QueueMetric {
  name: string;
  type: 'counter' | 'gauge';
  help: string;
  /** The queue's value; null leaves its series out (nothing to say yet). */
  value: (figures: QueueFigures, context: QueueMetricContext) => number | null;
}

/** A histogram with one series per queue, from the since-the-start totals. */
interface QueueHistogramMetric {
  name: string;
  help: string;
  histogram: (totals: LatencyTotals) => Histogram;
}

const perSecond = (ms: number | null) => (ms === null ? null : ms / 1_000);

export const queueMetrics: readonly QueueMetric[] = [
  {
    name: 'conveyor_jobs_arrived_total',
    type: 'counter',
    help: 'Jobs that entered the queue, from any client: jobs in it now plus every job that ever completed or failed (a retry is not a new arrival; a redriven dead letter is).',
    value: (f) => f.totals.arrived,
  },
  { name: 'conveyor_jobs_completed_total', type: 'counter', help: 'Jobs completed.', value: (f) => f.totals.completed },
  {
    name: 'conveyor_jobs_failed_total',
    type: 'counter',
    help: 'Failed attempts, retried or not: a job that fails three times counts three.',
    value: (f) => f.totals.failedAttempts,
  },
  {
    name: 'conveyor_jobs_dead_lettered_total',
    type: 'counter',
    help: 'Jobs moved to the dead-letter queue after failing for good.',
    value: (f) => f.totals.deadLettered,
  },
  {
    name: 'conveyor_queue_backlog',
    type: 'gauge',
    help: 'Jobs ready to run and not started: waiting, prioritized, and delayed jobs whose time has come.',
    value: (f) => f.backlog.total,
  },
  { name: 'conveyor_queue_in_service', type: 'gauge', help: 'Jobs being run now (active).', value: (f) => f.inService },
  {
    name: 'conveyor_queue_delayed',
    type: 'gauge',
    help: 'Delayed jobs not yet due: delayed enqueues and retries waiting out their backoff.',
    value: (f) => f.delayedLater,
  },
  {
    name: 'conveyor_queue_oldest_waiting_seconds',
    type: 'gauge',
    help: 'Age of the oldest job ready to run, from its enqueue or due time, in seconds; 0 when none waits.',
    value: (f) => perSecond(f.oldestWaitingAgeMs ?? 0),
  },
  {
    name: 'conveyor_workers_live',
    type: 'gauge',
    help: 'Worker processes working the queue (a heartbeat within the last 30 s).',
    value: (f) => f.workers.live,
  },
  {
    name: 'conveyor_workers_concurrency',
    type: 'gauge',
    help: 'Job slots of the live workers, together.',
    value: (f) => f.workers.concurrency,
  },
  {
    name: 'conveyor_queue_utilization',
    type: 'gauge',
    help: 'Utilization over the last minute: arrival rate times mean service time over the live slots (1 = every slot busy); absent without live workers or samples.',
    value: (f) => f.utilization,
  },
  {
    name: 'conveyor_queue_arrival_rate_1m',
    type: 'gauge',
    help: 'Arrival rate over the last minute, in jobs per second; absent until two snapshots span it.',
    value: (f) => f.windows['1m'].arrivalRate,
  },
  {
    name: 'conveyor_queue_completion_rate_1m',
    type: 'gauge',
    help: 'Completion rate over the last minute, in jobs per second; absent until two snapshots span it.',
    value: (f) => f.windows['1m'].completionRate,
  },
  {
    name: 'conveyor_queue_drain_eta_seconds',
    type: 'gauge',
    help: "Seconds until the backlog is gone at the last minute's rates; absent unless it is draining.",
    value: (f) => (f.drain.state === 'draining' ? f.drain.etaSec : null),
  },
  {
    name: RECOMMENDED_WORKERS_METRIC,
    type: 'gauge',
    help: 'Worker processes the queue needs: slots to keep up with arrivals at the target utilization plus slots to drain the backlog in the target time, over the slots per worker, rounded up; 0 only when idle and empty (DASHBOARD_AUTOSCALE_TARGET_UTILIZATION, DASHBOARD_AUTOSCALE_DRAIN_SEC).',
    value: (f, { latency, autoscale }) => recommendedWorkersOf(f, latency, autoscale),
  },
];

/**
 * The recommended worker count of a queue (@conveyor/shared queue-model/recommended-workers.ts).
 * A queue no worker touched in the last minute has no service time in its live window; the
 * since-the-start mean of its service histogram stands in, so that a queue scaled to zero is
 * sized from its jobs' known cost when work arrives.
 */
export function recommendedWorkersOf(figures: QueueFigures, latency: LatencyTotals | undefined, autoscale: AutoscaleTargets): number {
  const fallbackServiceMs = latency ? (meanOf(latency.service) ?? null) : null;
  return recommendedWorkers(figures, { targets: autoscale, fallbackServiceMs });
}

export const queueHistogramMetrics: readonly QueueHistogramMetric[] = [
  {
    name: 'conveyor_job_wait_seconds',
    help: 'Time from ready (enqueued, or due when delayed) to first start, in seconds; first attempts only.',
    histogram: (totals) => totals.wait,
  },
  {
    name: 'conveyor_job_service_seconds',
    help: 'Time from start to finish of each attempt, completed or failed, in seconds.',
    histogram: (totals) => totals.service,
  },
];

export interface QueueMetricsInput {
  figures: readonly QueueFigures[];
  latency: readonly LatencyTotals[];
}

/** Reads what /metrics shows of `queues`; throws RedisUnavailableError when Redis is away or slow. */
export function readQueueMetrics(deps: {
  redis: RedisClient;
  /** The BullMQ key prefix. */
  prefix: string;
  queues: readonly string[];
  /** Longest wait for the whole read, in ms. */
  timeoutMs: number;
  /** The history retention the read's counter snapshot expires with, in s. Default 7 days. */
  historyTtlSec?: number;
}): Promise<QueueMetricsInput> {
  const { redis, prefix, queues, timeoutMs } = deps;
  const model = { prefix, queues, ...(deps.historyTtlSec !== undefined ? { historyTtlSec: deps.historyTtlSec } : {}) };
  return callRedis({ redis, timeoutMs, label: 'queue figures' }, async () => {
    const [figures, latency] = await Promise.all([readQueueModel(redis, model), readLatencyTotals(redis, { prefix, queues })]);
    return { figures, latency };
  });
}

/**
 * The queue metrics in the Prometheus text format (a newline at the end). `autoscale`: the
 * targets of conveyor_queue_recommended_workers, default DEFAULT_AUTOSCALE_TARGETS (0.7, 300 s).
 */
export async function renderQueueMetrics(input: QueueMetricsInput, options: { autoscale?: AutoscaleTargets } = {}): Promise<string> {
  const autoscale = options.autoscale ?? DEFAULT_AUTOSCALE_TARGETS;
  const latencyOf = new Map(input.latency.map((totals) => [totals.queue, totals]));
  const registry = new Registry();
  for (const metric of queueMetrics) {
    const config = { name: metric.name, help: metric.help, labelNames: ['queue'], registers: [registry] };
    const series = metric.type === 'counter' ? new Counter(config) : new Gauge(config);
    for (const figures of input.figures) {
      const value = metric.value(figures, { latency: latencyOf.get(figures.queue), autoscale });
      if (value === null) continue;
      // A fresh counter per scrape: inc() by the Redis total sets it.
      if (series instanceof Counter) series.inc({ queue: figures.queue }, value);
      else series.set({ queue: figures.queue }, value);
    }
  }
  const histograms = queueHistogramMetrics.map((metric) => histogramText(metric, input.latency));
  return [await registry.metrics(), ...histograms].join('\n');
}

function histogramText(metric: QueueHistogramMetric, latency: readonly LatencyTotals[]): string {
  const { name } = metric;
  const lines = [`# HELP ${name} ${metric.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} histogram`];
  for (const totals of latency) {
    const histogram = toPrometheusHistogram(metric.histogram(totals));
    const queue = `queue="${escapeLabelValue(totals.queue)}"`;
    for (const { le, count } of histogram.buckets) {
      lines.push(`${name}_bucket{${queue},le="${le === Infinity ? '+Inf' : String(le)}"} ${count}`);
    }
    lines.push(`${name}_sum{${queue}} ${histogram.sumSec}`, `${name}_count{${queue}} ${histogram.count}`);
  }
  return `${lines.join('\n')}\n`;
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
