/**
 * Drain throughput: a queue pre-filled with N `email.send` jobs (catalog options, no-op
 * latency) drained by one worker at a given concurrency, timed from the worker's start to
 * its N-th completion. Variants, run in one process against the same Redis:
 *
 *   bullmq            a raw BullMQ Worker whose processor returns at once
 *                     (Conveyor's variants run the same no-op as their `email.send` handler)
 *   conveyor          Conveyor's worker runtime (validation, timeouts, attempt log on failure,
 *                     dead-letter hooks, logging) with queue-model figures recorded
 *   conveyor-no-figs  the same runtime with figure recording off
 */
import {
  createLogger,
  createQueueModelRecorder,
  jobKinds,
  jobOptionsFor,
  redisConnectionOptions,
  type QueueModelRecorder,
} from '@conveyor/shared';
import { createHandlers, startWorker } from '@conveyor/worker';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { redisCpuSec } from './redis-cpu.ts';

/**
 * The handlers Conveyor's variants run: the catalog's, with `email.send` replaced by the same
 * no-op the raw BullMQ variant runs, so that the figures compare job layers, not handler work
 * (the simulated mailer hashes the job id and returns a message id).
 */
const handlers = {
  ...createHandlers({
    email: { latencyMs: 0 },
    webhook: { signingSecret: 'bench', timeoutMs: 1_000, allowedHosts: [] },
    report: { stepDelayMs: 0 },
  }),
  'email.send': async () => ({ ok: true }),
};

export type DrainVariant = 'bullmq' | 'conveyor' | 'conveyor-no-figs';

const silent = createLogger({ name: 'bench', level: 'silent' });

async function fill(queue: Queue, jobs: number): Promise<void> {
  const options = jobOptionsFor(jobKinds['email.send']);
  const data = { to: 'ada@example.com', subject: 'bench', body: 'hello' };
  for (let done = 0; done < jobs; done += 1_000) {
    const n = Math.min(1_000, jobs - done);
    await queue.addBulk(Array.from({ length: n }, () => ({ name: 'email.send', data, opts: options })));
  }
}

export interface DrainResult {
  jobsPerSec: number;
  /** CPU time per job, µs: this (the worker's) process, and redis-server (INFO cpu). */
  workerCpuUs: number;
  redisCpuUs: number;
}

/**
 * Drains `jobs` jobs once. The caller gives each round a fresh prefix. Besides wall-clock
 * throughput, it reports CPU per job, which other tenants of a shared machine disturb far
 * less: the fair measure of what a feature costs.
 */
export async function drainRound(options: {
  redisUrl: string;
  prefix: string;
  variant: DrainVariant;
  jobs: number;
  concurrency: number;
}): Promise<DrainResult> {
  const admin = new Redis(options.redisUrl);
  const connection = redisConnectionOptions({ url: options.redisUrl, mode: 'wait-out' });
  const queue = new Queue('email', { connection, prefix: options.prefix });
  await fill(queue, options.jobs);

  let recorderRedis: Redis | undefined;
  let recorder: QueueModelRecorder | undefined;
  let worker: Worker;
  let completed = 0;
  let started = 0;
  const redisCpuBefore = await redisCpuSec(admin);
  const cpuBefore = process.cpuUsage();
  const done = new Promise<number>((resolve) => {
    const onCompleted = () => {
      completed++;
      if (completed === options.jobs) resolve(performance.now());
    };
    const begin = () => {
      started = performance.now();
      if (options.variant === 'bullmq') {
        worker = new Worker('email', async () => ({ ok: true }), {
          connection,
          prefix: options.prefix,
          concurrency: options.concurrency,
        });
      } else {
        if (options.variant === 'conveyor') {
          recorderRedis = new Redis(options.redisUrl);
          recorder = createQueueModelRecorder({ redis: recorderRedis, prefix: options.prefix, concurrency: { email: options.concurrency } });
        }
        worker = startWorker('email', {
          connection,
          prefix: options.prefix,
          concurrency: options.concurrency,
          handlers,
          logger: silent,
          ...(recorder ? { recorder } : {}),
        });
      }
      worker.on('completed', onCompleted);
    };
    begin();
  });
  const finished = await done;
  const cpu = process.cpuUsage(cpuBefore);
  const redisCpu = (await redisCpuSec(admin)) - redisCpuBefore;
  admin.disconnect();
  await worker!.close();
  await recorder?.close();
  recorderRedis?.disconnect();
  await queue.close();
  return {
    jobsPerSec: options.jobs / ((finished - started) / 1_000),
    workerCpuUs: (cpu.user + cpu.system) / options.jobs,
    redisCpuUs: (redisCpu * 1e6) / options.jobs,
  };
}
