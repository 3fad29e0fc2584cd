/**
 * Test harness: real BullMQ queues and workers on the test run's redis-server, under a
 * prefix of their own. `close()` (in afterEach) closes everything the harness opened.
 * Never imported by app code.
 */
import {
  createLogger,
  jobKinds,
  jobOptionsFor,
  redisConnectionOptions,
  type JobInput,
  type JobName,
  type QueueName,
  queuePrefix,
} from '@conveyor/shared';
import { testPrefix, waitFor } from '@conveyor/shared/testing';
// Declares `inject('redisUrl')`.
import type {} from '@conveyor/shared/testing/global-setup';
import { Queue, type Job, type JobsOptions, type Worker } from 'bullmq';
import { inject } from 'vitest';
import { createHandlers, type HandlerDeps } from '../handlers/index.ts';
import type { HandlerTable } from '../handler.ts';
import { createWorkerStats, startWorker, type StartWorkerDeps } from '../start-worker.ts';

export const silentLogger = createLogger({ name: 'worker-test', level: 'silent' });

export const fastHandlerDeps: HandlerDeps = {
  email: { latencyMs: 0 },
  webhook: { signingSecret: 'test-signing-secret', timeoutMs: 2_000, allowedHosts: ['127.0.0.1'] },
  report: { stepDelayMs: 5 },
};

export interface JobHarness {
  prefix: string;
  queue(name: QueueName): Queue;
  /** Starts a worker on `queue` with the real handlers (fast settings) unless overridden. */
  startWorker(queue: QueueName, overrides?: Partial<StartWorkerDeps>): Worker;
  /** Enqueues with the kind's catalog options under `options`, as the producer does. */
  add<N extends JobName>(name: N, data: JobInput<N>, options?: JobsOptions): Promise<Job>;
  /** Waits for the job to be completed or failed for good, and returns it. */
  finished(queue: QueueName, jobId: string, timeoutMs?: number): Promise<Job>;
  close(): Promise<void>;
}

export function createJobHarness(): JobHarness {
  const prefix = testPrefix('worker');
  const url = inject('redisUrl');
  const { hostname, port } = new URL(url);
  const queues = new Map<QueueName, Queue>();
  const workers: Worker[] = [];

  const queue = (name: QueueName) => {
    let found = queues.get(name);
    if (!found) {
      found = new Queue(name, { connection: { host: hostname, port: Number(port) }, prefix: queuePrefix(prefix, name) });
      found.on('error', () => {});
      queues.set(name, found);
    }
    return found;
  };

  return {
    prefix,
    queue,
    startWorker(name, overrides = {}) {
      const worker = startWorker(name, {
        connection: redisConnectionOptions({ url, mode: 'wait-out' }),
        prefix,
        concurrency: 5,
        handlers: createHandlers(fastHandlerDeps) satisfies HandlerTable,
        logger: silentLogger,
        stats: createWorkerStats(),
        ...overrides,
      });
      workers.push(worker);
      return worker;
    },
    add(name, data, options = {}) {
      const kind = jobKinds[name];
      return queue(kind.queue).add(name, data, { ...jobOptionsFor(kind), ...options });
    },
    finished(name, jobId, timeoutMs = 10_000) {
      return waitFor(
        async () => {
          // State first: a job read before it finished would lack its result.
          const state = await queue(name).getJobState(jobId);
          return state === 'completed' || state === 'failed' ? queue(name).getJob(jobId) : undefined;
        },
        { timeoutMs, what: `job ${jobId} on ${name} to finish` },
      );
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.close(true)));
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
