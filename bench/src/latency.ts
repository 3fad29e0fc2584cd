/**
 * Enqueue-to-start latency, with producer and worker in their own processes as deployed: this
 * process adds `email.send` jobs at a fixed arrival rate while one worker process
 * (worker-processes.ts, concurrency 50 by default, warmed up first) runs them; a job's latency
 * is the time its handler started minus the time its add was called. Both are wall-clock
 * epoch ms (`performance.timeOrigin + performance.now()`, sub-ms, one system clock).
 *
 * Arrivals follow an absolute schedule (job i is due at t0 + i ÷ rate), never an interval
 * that drifts: a timer sleeps until the next due time, and every job whose time has come is
 * then added at once without waiting for the previous add. A job's latency counts from the
 * moment its add was called, so everything the producing client does is in it, but not how
 * late Node's timer fired (timers have 1 ms resolution, so at 2,000 jobs/s jobs are added in
 * twos, as requests arrive at a web app). A producer that falls behind shows as an achieved
 * rate below the asked one. The producer never polls: an earlier version spun on
 * `setImmediate` between due times for sub-ms precision and so kept one of the machine's two
 * cores busy at 500 and 2,000 jobs/s (0.93–0.97 cores measured), taking it from the worker and
 * Redis it measured; `loadGeneratorCpu` reports what adding uses now.
 *
 *   bullmq     raw `Queue.add` (catalog options) → a raw BullMQ Worker
 *   conveyor   Conveyor's typed client (validation, sealed `body`) → Conveyor's worker runtime
 *              with everything on (drain-workers.ts), given the client's payload key
 *   bee-queue  `createJob().save()` → a bee-queue worker
 *
 * The first `warmUpMs` of arrivals are run but not counted. A job not started within the
 * grace period after the last arrival counts as infinitely late; an add the producer refused
 * (an overloaded Redis: Conveyor's fail-fast client gives up after its deadline) is counted
 * apart, not as a latency.
 */
import { randomBytes } from 'node:crypto';
import { emailPayload, sequenceOf } from './email-payload.ts';
import { quantile } from './percentiles.ts';
import { openQueueClient, type ClientKind, type QueueClient } from './queue-clients.ts';
import { epochMs, startWorkerProcesses, type WorkerProcesses } from './worker-processes.ts';

export const latencyVariants = ['bullmq', 'conveyor', 'bee-queue'] as const;
export type LatencyVariant = (typeof latencyVariants)[number];

const producerOf: Record<LatencyVariant, ClientKind> = { bullmq: 'bullmq', conveyor: 'conveyor-client', 'bee-queue': 'bee-queue' };

export interface LatencyOptions {
  redisUrl: string;
  prefix: string;
  variant: LatencyVariant;
  /** Arrivals per second. */
  ratePerSec: number;
  /** How long jobs arrive, ms. */
  durationMs: number;
  /** Arrivals at the start not counted, ms. Default 500. */
  warmUpMs?: number;
  /** Worker concurrency. Default 50. */
  concurrency?: number;
  /** How long after the last arrival every job must have started, ms. Default 30,000. */
  graceMs?: number;
}

export interface LatencyResult {
  ratePerSec: number;
  /** Jobs added ÷ the time adding them took (the producer may fall behind the schedule). */
  achievedPerSec: number;
  /** CPU the adding process (this one: the producer and its timers) used while adding, in cores (0.25 = a quarter of one). */
  loadGeneratorCpu: number;
  /** Jobs counted: added (not refused) after the warm-up. */
  jobs: number;
  /** Adds the producer refused (Conveyor's typed client answers an overloaded Redis with an error after 500 ms), over the whole run. */
  refused: number;
  /** The first refusal's message, or ''. */
  firstRefusal: string;
  /** Counted jobs not started within the grace period. */
  notStarted: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export async function latencyRun(options: LatencyOptions): Promise<LatencyResult> {
  const { ratePerSec, durationMs } = options;
  const warmUpMs = options.warmUpMs ?? 500;
  const total = Math.max(1, Math.round((ratePerSec * durationMs) / 1_000));
  const intervalMs = 1_000 / ratePerSec;
  const dueAt = new Float64Array(total);
  const addedAt = new Float64Array(total);
  const startedAt = new Float64Array(total).fill(Infinity);
  const payloads = Array.from({ length: total }, (_, i) => emailPayload(i));

  // The typed client seals email.send's `body`; the worker gets the same key to open it.
  const target = { redisUrl: options.redisUrl, prefix: options.prefix, payloadKeys: `bench:${randomBytes(32).toString('base64')}` };
  let client: QueueClient | undefined;
  let workers: WorkerProcesses | undefined;
  try {
    client = await openQueueClient(producerOf[options.variant], target);
    workers = await startWorkerProcesses({
      variant: options.variant,
      ...target,
      concurrency: options.concurrency ?? 50,
      recordStarts: true,
      processes: 1,
      warmUpJobs: 1_000,
    });
    workers.go();

    const refused = new Uint8Array(total);
    let refusals = 0;
    let firstRefusal = '';
    const t0 = epochMs() + 20;
    const cpuAtStart = process.cpuUsage();
    for (let i = 0; i < total; i++) dueAt[i] = t0 + i * intervalMs;
    const lastAddedAt = await new Promise<number>((resolve) => {
      let next = 0;
      const producer = client!;
      const tick = () => {
        const now = epochMs();
        while (next < total && dueAt[next]! <= now) {
          const i = next++;
          addedAt[i] = now;
          producer.add(payloads[i]!).catch((error: unknown) => {
            refused[i] = 1;
            if (refusals++ === 0) firstRefusal = error instanceof Error ? error.message : String(error);
          });
        }
        if (next >= total) return resolve(epochMs());
        setTimeout(tick, Math.max(0, dueAt[next]! - epochMs()));
      };
      tick();
    });
    const producerCpu = process.cpuUsage(cpuAtStart);
    const running = workers;
    await running.until(() => running.completed() >= total - refusals, `${total} jobs to start`, { resolveAtMs: lastAddedAt + (options.graceMs ?? 30_000) });
    const { starts } = (await running.stop())[0]!;
    for (let k = 0; k < starts.length; k += 2) {
      const i = starts[k]!;
      if (i >= 0 && i < total && startedAt[i] === Infinity) startedAt[i] = starts[k + 1]!;
    }

    const from = Math.min(total - 1, Math.ceil(warmUpMs / intervalMs));
    const latencies = new Float64Array(total - from);
    let counted = 0;
    for (let i = from; i < total; i++) if (!refused[i]) latencies[counted++] = startedAt[i]! - addedAt[i]!;
    const accepted = latencies.subarray(0, counted).sort();
    return {
      ratePerSec,
      achievedPerSec: total / ((lastAddedAt - t0) / 1_000),
      loadGeneratorCpu: (producerCpu.user + producerCpu.system) / 1_000 / Math.max(1, lastAddedAt - t0 + 20),
      jobs: counted,
      refused: refusals,
      firstRefusal,
      notStarted: accepted.filter((ms) => ms === Infinity).length,
      p50Ms: quantile(accepted, 0.5),
      p95Ms: quantile(accepted, 0.95),
      p99Ms: quantile(accepted, 0.99),
      maxMs: counted > 0 ? accepted[counted - 1]! : NaN,
    };
  } finally {
    await workers?.close();
    await client?.close();
  }
}
