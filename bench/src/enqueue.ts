/**
 * Enqueue throughput: N `email.send` jobs (~220-byte payloads, each different) put into an
 * empty queue, timed from the first call to the last answer. Variants, against one Redis,
 * each given the same BullMQ job options (the kind's policy, `jobOptionsFor`):
 *
 *   bullmq-add          raw BullMQ `Queue.add`, `inFlight` (100) calls in flight
 *   client-enqueue      Conveyor's typed client `producer.enqueue` (validation, options), the same
 *   http-single         `POST /v1/jobs/email.send` to the real producer process over keep-alive
 *                       connections, the same number of requests in flight
 *   bullmq-addBulk      raw BullMQ `Queue.addBulk`, batches of `batchSize` (1,000), `bulkInFlight` (4) in flight
 *   client-enqueueBulk  `producer.enqueueBulk`, the same batches
 *   http-bulk           `POST /v1/jobs/email.send/bulk`, one batch per request, the same
 *   bee-save            bee-queue 2.0.0 `createJob(data).save()` with the same attempts and
 *                       backoff (queue-clients.ts), `inFlight` in flight
 *   bee-saveAll         bee-queue `saveAll`, the same batches
 *
 * Before each variant Redis is flushed (it is the bench's private server); after it, the
 * queue must hold exactly N waiting `email.send` jobs (bee-queue: N waiting), or the round throws: a broken variant
 * cannot report a fast figure. The typed client and the producer process seal the sensitive
 * `body` field (AES-256-GCM), as a deployment must; raw BullMQ stores it as is. CPU per job
 * is charged to the producer side (this process for the in-process variants, the producer
 * process for HTTP) and to redis-server; for HTTP, the load generator's own CPU (this
 * process) is reported apart.
 */
import { randomBytes } from 'node:crypto';
import { createCloser, createLogger, createRedis, jobKinds, jobOptionsFor, parsePayloadKeys, queuePrefix, redisConnectionOptions } from '@conveyor/shared';
import { createProducer } from '@conveyor/producer';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { emailPayload } from './email-payload.ts';
import { createHttpPoster } from './http-post.ts';
import { runInFlight } from './in-flight.ts';
import { BENCH_COMMAND_TIMEOUT_MS, startProducerProcess } from './producer-process.ts';
import { openQueueClient } from './queue-clients.ts';
import { redisCpuSec } from './redis-cpu.ts';

export const singleVariants = ['bullmq-add', 'client-enqueue', 'http-single', 'bee-save'] as const;
export const bulkVariants = ['bullmq-addBulk', 'client-enqueueBulk', 'http-bulk', 'bee-saveAll'] as const;
export type SingleVariant = (typeof singleVariants)[number];
export type BulkVariant = (typeof bulkVariants)[number];
export type EnqueueVariant = SingleVariant | BulkVariant;

export interface EnqueueSettings {
  /** Single-job calls (or requests) in flight at once. Default 100. */
  inFlight: number;
  /** Jobs per bulk call or request. Default 1,000 (the producer's BULK_MAX_JOBS default). */
  batchSize: number;
  /** Bulk calls (or requests) in flight at once. Default 4. */
  bulkInFlight: number;
}

export const enqueueDefaults: EnqueueSettings = { inFlight: 100, batchSize: 1_000, bulkInFlight: 4 };

export interface EnqueueResult {
  jobsPerSec: number;
  /** CPU per job, µs, of whatever runs the producer: this process in-process, the producer process over HTTP. */
  producerCpuUs: number;
  /** CPU per job, µs, of redis-server (INFO cpu). */
  redisCpuUs: number;
  /** CPU per job, µs, of the HTTP load generator (this process); 0 for the in-process variants. */
  clientCpuUs: number;
}

export interface EnqueueBench {
  /** Flushes Redis, enqueues `jobs` jobs (at most the bench's `maxJobs`) with `variant`, checks them, and reports. */
  run(variant: EnqueueVariant, jobs: number): Promise<EnqueueResult>;
  close(): Promise<void>;
}

const KIND = jobKinds['email.send'];
const silent = createLogger({ name: 'bench', level: 'silent' });

/**
 * Starts what every variant needs once (the raw queue, the typed client and its Redis
 * connection, the producer process, the HTTP client) and prepares the payloads and request
 * bodies of up to `maxJobs` jobs, so that no variant pays for building them.
 */
export async function openEnqueueBench(options: {
  redisUrl: string;
  /** A client of the same server, used to flush it and to read INFO cpu and the queue. */
  admin: Redis;
  maxJobs: number;
  settings?: Partial<EnqueueSettings>;
}): Promise<EnqueueBench> {
  const settings = { ...enqueueDefaults, ...options.settings };
  const { admin, redisUrl } = options;
  const prefix = 'bench';
  // email.send's body is a sensitive field: the producer seals it (AES-256-GCM) or refuses the
  // job, so the client and the process get a key, as a real deployment must.
  const payloadEncryptionKeys = `bench:${randomBytes(32).toString('base64')}`;
  const closer = createCloser();
  try {
    const queue = new Queue(KIND.queue, { connection: redisConnectionOptions({ url: redisUrl, mode: 'wait-out' }), prefix: queuePrefix(prefix, KIND.queue) });
    queue.on('error', (error) => console.error(`bench: raw queue: ${error.message}`));
    closer.add('raw queue', () => queue.close());
    await queue.waitUntilReady();

    const clientRedis = createRedis({ url: redisUrl, mode: 'fail-fast', connectionName: 'bench:client' }, silent);
    closer.add('client redis', () => clientRedis.disconnect());
    const producer = createProducer({ redis: clientRedis, prefix, logger: silent, commandTimeoutMs: BENCH_COMMAND_TIMEOUT_MS, payloadKeys: parsePayloadKeys(payloadEncryptionKeys) });
    closer.add('typed client', () => producer.close());
    if (clientRedis.status !== 'ready') await new Promise((resolve) => clientRedis.once('ready', resolve));
    await producer.ping();

    const child = await startProducerProcess({
      redisUrl,
      prefix,
      bulkMaxJobs: settings.batchSize,
      payloadEncryptionKeys,
    });
    closer.add('producer process', () => child.stop());
    const bee = await openQueueClient('bee-queue', { redisUrl, prefix });
    closer.add('bee-queue', () => bee.close());
    const http = createHttpPoster(child.url, { maxSockets: settings.inFlight });
    closer.add('http client', () => http.close());

    const payloads = Array.from({ length: options.maxJobs }, (_, i) => emailPayload(i));
    const singleBodies = payloads.map((data) => Buffer.from(JSON.stringify({ data })));
    const batchesOf = (jobs: number) =>
      Array.from({ length: Math.ceil(jobs / settings.batchSize) }, (_, b) =>
        payloads.slice(b * settings.batchSize, Math.min(jobs, (b + 1) * settings.batchSize)),
      );
    const bulkBodies = new Map<number, Buffer[]>();
    const bulkBodiesOf = (jobs: number) => {
      if (!bulkBodies.has(jobs)) bulkBodies.set(jobs, batchesOf(jobs).map((batch) => Buffer.from(JSON.stringify({ jobs: batch.map((data) => ({ data })) }))));
      return bulkBodies.get(jobs)!;
    };
    const jobOptions = jobOptionsFor(KIND);
    const expect201 = ({ status, text }: { status: number; text: string }) => {
      if (status !== 201) throw new Error(`the producer answered ${status}: ${text.slice(0, 500)}`);
    };

    const variants: Record<EnqueueVariant, (jobs: number) => Promise<unknown>> = {
      'bullmq-add': (jobs) => runInFlight(jobs, settings.inFlight, (i) => queue.add(KIND.name, payloads[i], jobOptions)),
      'client-enqueue': (jobs) => runInFlight(jobs, settings.inFlight, (i) => producer.enqueue('email.send', payloads[i]!)),
      'http-single': (jobs) =>
        runInFlight(jobs, settings.inFlight, async (i) => expect201(await http.post(`/v1/jobs/${KIND.name}`, singleBodies[i]!))),
      'bullmq-addBulk': (jobs) => {
        const batches = batchesOf(jobs);
        return runInFlight(batches.length, settings.bulkInFlight, (b) =>
          queue.addBulk(batches[b]!.map((data) => ({ name: KIND.name, data, opts: jobOptions }))),
        );
      },
      'client-enqueueBulk': (jobs) => {
        const batches = batchesOf(jobs);
        return runInFlight(batches.length, settings.bulkInFlight, (b) =>
          producer.enqueueBulk(batches[b]!.map((data) => ({ name: 'email.send' as const, data }))),
        );
      },
      'bee-save': (jobs) => runInFlight(jobs, settings.inFlight, (i) => bee.add(payloads[i]!)),
      'bee-saveAll': (jobs) => {
        const batches = batchesOf(jobs);
        return runInFlight(batches.length, settings.bulkInFlight, (b) => bee.addBulk(batches[b]!));
      },
      'http-bulk': (jobs) => {
        const bodies = bulkBodiesOf(jobs);
        return runInFlight(bodies.length, settings.bulkInFlight, async (b) => expect201(await http.post(`/v1/jobs/${KIND.name}/bulk`, bodies[b]!)));
      },
    };
    const overHttp = (variant: EnqueueVariant) => variant === 'http-single' || variant === 'http-bulk';

    return {
      async run(variant, jobs) {
        if (jobs > options.maxJobs) throw new Error(`${jobs} jobs asked, ${options.maxJobs} prepared`);
        await admin.flushall();
        const redisBefore = await redisCpuSec(admin);
        const childBefore = child.cpuSec();
        const selfBefore = process.cpuUsage();
        const started = performance.now();
        await variants[variant](jobs);
        const elapsedMs = performance.now() - started;
        const self = process.cpuUsage(selfBefore);
        const childSec = child.cpuSec() - childBefore;
        const redisSec = (await redisCpuSec(admin)) - redisBefore;

        if (variant === 'bee-save' || variant === 'bee-saveAll') {
          const waiting = await bee.waiting();
          if (waiting !== jobs) throw new Error(`${variant}: expected ${jobs} waiting bee-queue jobs, found ${waiting}`);
        } else {
          const waiting = await queue.getWaitingCount();
          const [sample] = await queue.getWaiting(0, 0);
          if (waiting !== jobs || sample?.name !== KIND.name) {
            throw new Error(`${variant}: expected ${jobs} waiting ${KIND.name} jobs, found ${waiting} (first: ${sample?.name ?? 'none'})`);
          }
        }
        const selfUs = (self.user + self.system) / jobs;
        return {
          jobsPerSec: jobs / (elapsedMs / 1_000),
          producerCpuUs: overHttp(variant) ? (childSec * 1e6) / jobs : selfUs,
          redisCpuUs: (redisSec * 1e6) / jobs,
          clientCpuUs: overHttp(variant) ? selfUs : 0,
        };
      },
      close: () => closer.close(),
    };
  } catch (error) {
    await closer.close().catch(() => {});
    throw error;
  }
}
