/**
 * Drain throughput, one worker: a queue pre-filled with N `email.send` jobs (catalog
 * options, plain payloads) drained by one worker (drain-workers.ts) in this process at a
 * given concurrency, timed from the worker's start to its N-th completion.
 */
import { Redis } from 'ioredis';
import { drainPayload } from './email-payload.ts';
import { startDrainWorker, fillerOf, type DrainVariant, type RunningWorker } from './drain-workers.ts';
import { openQueueClient, fillQueue } from './queue-clients.ts';
import { redisCpuSec } from './redis-cpu.ts';

export type { DrainVariant };

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
  const target = { redisUrl: options.redisUrl, prefix: options.prefix };
  const filler = await openQueueClient(fillerOf[options.variant], target);
  await fillQueue(filler, options.jobs, drainPayload);
  await filler.close();

  const admin = new Redis(options.redisUrl);
  let worker: RunningWorker | undefined;
  try {
    let completed = 0;
    const redisCpuBefore = await redisCpuSec(admin);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const finished = await new Promise<number>((resolve) => {
      worker = startDrainWorker(options.variant, target, {
        concurrency: options.concurrency,
        onCompleted: () => {
          if (++completed === options.jobs) resolve(performance.now());
        },
      });
    });
    const cpu = process.cpuUsage(cpuBefore);
    const redisCpu = (await redisCpuSec(admin)) - redisCpuBefore;
    return {
      jobsPerSec: options.jobs / ((finished - started) / 1_000),
      workerCpuUs: (cpu.user + cpu.system) / options.jobs,
      redisCpuUs: (redisCpu * 1e6) / options.jobs,
    };
  } finally {
    admin.disconnect();
    await worker?.close();
  }
}
