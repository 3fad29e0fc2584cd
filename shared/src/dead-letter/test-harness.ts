/**
 * Test harness for the dead-letter tests (never imported by app code): a store and plain
 * BullMQ queues on the test run's redis-server under a prefix of their own, and ways to
 * make failed jobs and records without a Conveyor worker. `close()` closes all of it.
 */
import { Queue, Worker, type Job, type JobsOptions, type Processor, type WorkerOptions } from 'bullmq';
import { inject } from 'vitest';
import { createLogger } from '../logger.ts';
import { redisConnectionOptions } from '../redis.ts';
import { testPrefix } from '../testing/index.ts';
import { deadLetterQueueName, recordIdFor } from './names.ts';
import { buildDeadLetterRecord, formatAttemptLine, type DeadLetterRecord, type FailureClass } from './record.ts';
import { createDeadLetterStore, type DeadLetterStore } from './store.ts';
import type { RetentionLimits } from './sweep.ts';
import { queuePrefix } from '../keys.ts';

export const silentLogger = createLogger({ name: 'dead-letter-test', level: 'silent' });

export interface DeadLetterHarness {
  prefix: string;
  connection: ReturnType<typeof redisConnectionOptions>;
  /** Opens a BullMQ Worker that close() closes, under the queue's prefix (`queuePrefix`). */
  worker(name: string, processor: Processor | null, options: WorkerOptions): Worker;
  store: DeadLetterStore;
  queue(name: string): Queue;
  /** The DLQ of `name`, read directly. */
  dlq(name: string): Queue;
  /**
   * Adds a job and fails its attempts by hand (no processor runs): one attempt line and one
   * failure per entry of `failures`; the last one fails it for good when attempts run out
   * or `unrecoverable` is set.
   */
  failJob(
    queue: string,
    name: string,
    data: unknown,
    failures: { message: string; class?: FailureClass; log?: boolean }[],
    options?: JobsOptions & { unrecoverable?: boolean },
  ): Promise<Job>;
  /** Puts a record straight into the DLQ of `queue`. */
  seedRecord(queue: string, overrides?: Partial<DeadLetterRecord>, options?: { timestamp?: number }): Promise<string>;
  close(): Promise<void>;
}

let seeded = 0;

export function createDeadLetterHarness(options: { retention?: Partial<RetentionLimits> } = {}): DeadLetterHarness {
  const prefix = testPrefix('dlq');
  const connection = redisConnectionOptions({ url: inject('redisUrl'), mode: 'wait-out' });
  const store = createDeadLetterStore({ connection, prefix, logger: silentLogger, ...(options.retention ? { retention: options.retention } : {}) });
  const queues = new Map<string, Queue>();
  const workers: Worker[] = [];
  const queue = (name: string) => {
    let found = queues.get(name);
    if (!found) {
      found = new Queue(name, { connection, prefix: queuePrefix(prefix, name) });
      found.on('error', () => {});
      queues.set(name, found);
    }
    return found;
  };
  const fetcher = (name: string) => {
    const worker = new Worker(name, null, { connection, prefix: queuePrefix(prefix, name) });
    worker.on('error', () => {});
    workers.push(worker);
    return worker;
  };

  return {
    prefix,
    connection,
    worker(name, processor, workerOptions) {
      const worker = new Worker(name, processor, { ...workerOptions, prefix: queuePrefix(prefix, name) });
      worker.on('error', () => {});
      workers.push(worker);
      return worker;
    },
    store,
    queue,
    dlq: (name) => queue(deadLetterQueueName(name)),
    async failJob(queueName, name, data, failures, opts = {}) {
      const { unrecoverable, ...jobOptions } = opts;
      const added = await queue(queueName).add(name, data, { attempts: failures.length, removeOnFail: false, ...jobOptions });
      const worker = fetcher(queueName);
      for (const [index, failure] of failures.entries()) {
        const token = `token-${index}`;
        const job: Job | undefined = await worker.getNextJob(token);
        if (!job || job.id !== added.id) throw new Error(`expected job ${added.id} to be next, got ${job?.id}`);
        const error = new Error(failure.message);
        if (unrecoverable && index === failures.length - 1) error.name = 'UnrecoverableError';
        if (failure.log !== false) {
          await job.log(formatAttemptLine({ attempt: index + 1, class: failure.class ?? 'error', message: failure.message, stack: error.stack ?? '', at: new Date().toISOString(), worker: `test-host:${index}` }));
        }
        // Backoff 0: a retried job goes straight back to waiting.
        await job.moveToFailed(error, token);
      }
      return (await queue(queueName).getJob(added.id!))!;
    },
    async seedRecord(queueName, overrides = {}, seedOptions = {}) {
      const sourceJobId = overrides.sourceJobId ?? `seed-${++seeded}`;
      const record: DeadLetterRecord = {
        ...buildDeadLetterRecord({
          queue: queueName,
          job: { id: sourceJobId, name: `${queueName}.send`, data: {}, opts: { attempts: 1 }, failedReason: 'boom', attemptsMade: 1, timestamp: Date.now() },
          logLines: [],
          ...(seedOptions.timestamp ? { now: new Date(seedOptions.timestamp) } : {}),
        }),
        ...overrides,
      };
      const id = recordIdFor(sourceJobId);
      await queue(deadLetterQueueName(queueName)).add(record.name, record, { jobId: id, ...(seedOptions.timestamp ? { timestamp: seedOptions.timestamp } : {}) });
      return id;
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.close(true)));
      await Promise.all([...queues.values()].map((q) => q.close()));
      await store.close();
    },
  };
}
