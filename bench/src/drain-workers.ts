/**
 * The consuming side of each variant the bench compares, as one table: how it starts one
 * worker on the `email` queue that runs a no-op `email.send` handler. The same starters run
 * in the bench process (drain.ts, latency.ts) and in worker child processes (drain-process.ts).
 *
 *   bullmq            a raw BullMQ Worker whose processor returns at once
 *   conveyor          Conveyor's worker runtime with everything on: payload opening and
 *                     validation, timeouts, queue-model figures (its recorder, as the worker
 *                     app runs it), the dead-letter store's hooks, and a logger at `info` (the
 *                     production level; per-job lines are `debug`, so nothing is written per job)
 *   conveyor-no-figs  the same runtime with figure recording off
 *   bee-queue         a bee-queue 2.0.0 Queue with `isWorker: true` (settings: queue-clients.ts)
 *
 * Every variant runs the same no-op (Conveyor's with `email.send` replaced in its handler
 * table), so the figures compare job layers, not handler work.
 */
import {
  createDeadLetterStore,
  createLogger,
  createPayloadSealer,
  createQueueModelRecorder,
  parsePayloadKeys,
  queuePrefix,
  redisConnectionOptions,
} from '@conveyor/shared';
import { createHandlers, createWorkerStats, startWorker } from '@conveyor/worker';
import BeeQueue from 'bee-queue';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { EmailData } from './email-payload.ts';
import { beeSettings, type QueueTarget } from './queue-target.ts';

export const drainVariants = ['bullmq', 'conveyor', 'conveyor-no-figs', 'bee-queue'] as const;
export type DrainVariant = (typeof drainVariants)[number];

export interface WorkerHooks {
  /** Jobs run at once. */
  concurrency: number;
  /** Called as the handler starts, with the (opened, validated) payload. */
  onStart?: (data: EmailData) => void;
  /** Called once per completed job. */
  onCompleted: () => void;
}

export interface RunningWorker {
  /** Resolves once the worker is connected and fetching. */
  ready: Promise<unknown>;
  /** Stops fetching, lets active jobs finish, and closes every connection it opened. */
  close(): Promise<void>;
}

const QUEUE = 'email';
const result = { ok: true };

function startConveyor(target: QueueTarget, hooks: WorkerHooks, figures: boolean): RunningWorker {
  const connection = redisConnectionOptions({ url: target.redisUrl, mode: 'wait-out' });
  const logger = createLogger({ name: 'bench-worker', level: 'info' });
  const handlers = {
    ...createHandlers({
      email: { latencyMs: 0 },
      webhook: { signingSecret: 'bench', timeoutMs: 1_000, allowedHosts: [] },
      report: { stepDelayMs: 0 },
    }),
    'email.send': async (data: EmailData) => {
      hooks.onStart?.(data);
      return result;
    },
  };
  const stats = createWorkerStats();
  const deadLetters = createDeadLetterStore({ connection, prefix: target.prefix, logger, queues: [QUEUE] });
  const recorderRedis = figures ? new Redis(target.redisUrl) : undefined;
  const recorder = recorderRedis
    ? createQueueModelRecorder({
        redis: recorderRedis,
        prefix: target.prefix,
        concurrency: { [QUEUE]: hooks.concurrency },
        activeJobs: () => stats.activeByQueue,
      })
    : undefined;
  const worker = startWorker(QUEUE, {
    connection,
    prefix: target.prefix,
    concurrency: hooks.concurrency,
    handlers,
    logger,
    stats,
    deadLetters,
    sealer: createPayloadSealer({ keys: parsePayloadKeys(target.payloadKeys ?? '') }),
    ...(recorder ? { recorder } : {}),
  });
  worker.on('completed', hooks.onCompleted);
  return {
    ready: worker.waitUntilReady(),
    async close() {
      await worker.close();
      await recorder?.close();
      recorderRedis?.disconnect();
      await deadLetters.close();
    },
  };
}

const starters: Record<DrainVariant, (target: QueueTarget, hooks: WorkerHooks) => RunningWorker> = {
  bullmq(target, hooks) {
    const worker = new Worker<EmailData>(
      QUEUE,
      async (job) => {
        hooks.onStart?.(job.data);
        return result;
      },
      { connection: redisConnectionOptions({ url: target.redisUrl, mode: 'wait-out' }), prefix: queuePrefix(target.prefix, QUEUE), concurrency: hooks.concurrency },
    );
    worker.on('error', (error) => console.error(`bench: bullmq worker: ${error.message}`));
    worker.on('completed', hooks.onCompleted);
    return { ready: worker.waitUntilReady(), close: () => worker.close() };
  },
  conveyor: (target, hooks) => startConveyor(target, hooks, true),
  'conveyor-no-figs': (target, hooks) => startConveyor(target, hooks, false),
  'bee-queue'(target, hooks) {
    const queue = new BeeQueue<EmailData>(QUEUE, beeSettings(target, true));
    queue.on('error', (error) => console.error(`bench: bee-queue worker: ${error.message}`));
    queue.on('succeeded', hooks.onCompleted);
    queue.process(hooks.concurrency, async (job) => {
      hooks.onStart?.(job.data);
      return result;
    });
    return { ready: queue.ready(), close: () => queue.close() };
  },
};

export const startDrainWorker = (variant: DrainVariant, target: QueueTarget, hooks: WorkerHooks): RunningWorker => starters[variant](target, hooks);

/** The producing side each variant's queue is filled with (queue-clients.ts): Conveyor's variants drain BullMQ jobs. */
export const fillerOf: Record<DrainVariant, 'bullmq' | 'bee-queue'> = {
  bullmq: 'bullmq',
  conveyor: 'bullmq',
  'conveyor-no-figs': 'bullmq',
  'bee-queue': 'bee-queue',
};
