/**
 * The producing side of each system the bench compares, as one table: how it adds one
 * `email.send` job, a batch of them, and how it counts what is waiting.
 *
 *   bullmq           raw BullMQ `Queue.add` / `addBulk` with email.send's catalog options
 *                    (`jobOptionsFor`: 5 attempts, exponential backoff from 1 s, the last 10,000
 *                    completed jobs kept for a day); the payload stored as is
 *   conveyor-client  Conveyor's typed client (`createProducer`): validation, the same options,
 *                    and the sensitive `body` sealed (AES-256-GCM), as a deployment must
 *   bee-queue        bee-queue 2.0.0 `createJob(data).retries(4).backoff('exponential', 1000)`
 *                    (the same 5 attempts and backoff), `.save()` / `saveAll`
 */
import { createLogger, createRedis, jobKinds, jobOptionsFor, parsePayloadKeys, queuePrefix, redisConnectionOptions } from '@conveyor/shared';
import { createProducer } from '@conveyor/producer';
import { BENCH_COMMAND_TIMEOUT_MS } from './producer-process.ts';
import BeeQueue from 'bee-queue';
import { Queue } from 'bullmq';
import type { EmailData } from './email-payload.ts';
import { beeSettings, type QueueTarget } from './queue-target.ts';

export const clientKinds = ['bullmq', 'conveyor-client', 'bee-queue'] as const;
export type ClientKind = (typeof clientKinds)[number];

export interface QueueClient {
  add(data: EmailData): Promise<unknown>;
  addBulk(batch: readonly EmailData[]): Promise<unknown>;
  /** Jobs waiting in the queue now. */
  waiting(): Promise<number>;
  /** Jobs not yet done for good: waiting, active, delayed (retries) or failed. */
  unfinished(): Promise<number>;
  close(): Promise<void>;
}

const KIND = jobKinds['email.send'];
const silent = createLogger({ name: 'bench', level: 'silent' });

/** bee-queue's equivalent of email.send's BullMQ options: `attempts: 5` is 4 retries. */
export const beeJobOf = (queue: BeeQueue<EmailData>, data: EmailData) =>
  queue.createJob(data).retries(KIND.policy.attempts - 1).backoff('exponential', 1_000);

async function unfinishedOf(queue: Queue): Promise<number> {
  const { waiting = 0, active = 0, delayed = 0, prioritized = 0, failed = 0 } = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed');
  return waiting + active + delayed + prioritized + failed;
}

const openers: Record<ClientKind, (target: QueueTarget) => Promise<QueueClient>> = {
  async bullmq(target) {
    const queue = new Queue(KIND.queue, { connection: redisConnectionOptions({ url: target.redisUrl, mode: 'wait-out' }), prefix: queuePrefix(target.prefix, KIND.queue) });
    queue.on('error', (error) => console.error(`bench: bullmq queue: ${error.message}`));
    await queue.waitUntilReady();
    const options = jobOptionsFor(KIND);
    return {
      add: (data) => queue.add(KIND.name, data, options),
      addBulk: (batch) => queue.addBulk(batch.map((data) => ({ name: KIND.name, data, opts: options }))),
      waiting: () => queue.getWaitingCount(),
      unfinished: () => unfinishedOf(queue),
      close: () => queue.close(),
    };
  },
  async 'conveyor-client'(target) {
    const redis = createRedis({ url: target.redisUrl, mode: 'fail-fast', connectionName: 'bench:client' }, silent);
    const producer = createProducer({ redis, prefix: target.prefix, logger: silent, commandTimeoutMs: BENCH_COMMAND_TIMEOUT_MS, payloadKeys: parsePayloadKeys(target.payloadKeys ?? '') });
    if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
    await producer.ping();
    const counter = new Queue(KIND.queue, { connection: redisConnectionOptions({ url: target.redisUrl, mode: 'wait-out' }), prefix: queuePrefix(target.prefix, KIND.queue) });
    counter.on('error', (error) => console.error(`bench: counting queue: ${error.message}`));
    return {
      add: (data) => producer.enqueue('email.send', data),
      addBulk: (batch) => producer.enqueueBulk(batch.map((data) => ({ name: 'email.send' as const, data }))),
      waiting: () => counter.getWaitingCount(),
      unfinished: () => unfinishedOf(counter),
      async close() {
        await counter.close();
        await producer.close();
        redis.disconnect();
      },
    };
  },
  async 'bee-queue'(target) {
    const queue = new BeeQueue<EmailData>(KIND.queue, beeSettings(target, false));
    queue.on('error', (error) => console.error(`bench: bee-queue: ${error.message}`));
    await queue.ready();
    return {
      add: (data) => beeJobOf(queue, data).save(),
      addBulk: async (batch) => {
        const errors = await queue.saveAll(batch.map((data) => beeJobOf(queue, data)));
        if (errors.size > 0) throw new Error(`bee-queue saveAll: ${errors.size} jobs not saved: ${[...errors.values()][0]?.message}`);
      },
      waiting: async () => (await queue.checkHealth()).waiting,
      unfinished: async () => {
        const { waiting, active, delayed, failed } = await queue.checkHealth();
        return waiting + active + delayed + failed;
      },
      close: () => queue.close(),
    };
  },
};

export const openQueueClient = (kind: ClientKind, target: QueueTarget): Promise<QueueClient> => openers[kind](target);

/** Adds `jobs` jobs of `payload(i)` in batches of 1,000 (fills a queue; never timed). */
export async function fillQueue(client: QueueClient, jobs: number, payload: (i: number) => EmailData): Promise<void> {
  for (let done = 0; done < jobs; done += 1_000) {
    await client.addBulk(Array.from({ length: Math.min(1_000, jobs - done) }, (_, k) => payload(done + k)));
  }
}
