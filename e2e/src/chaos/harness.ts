/**
 * The chaos suite's parts: a private redis-server it can SIGKILL and bring back on the same
 * port (or, for the cases that need no Redis fault, the Redis of the run's topology:
 * redis-deployment.ts), real producer and worker processes, a webhook receiver that is the ledger of every
 * execution, and an HTTP load generator. Every fault a case injects is checked to have
 * happened (the PID is gone, Redis' run_id changed, CLIENT KILL killed something).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startApp, startRedisServer, freePort, type AppProcess, type RedisServerHandle } from '@conveyor/shared/testing';
import { createDeadLetterStore, createLogger, redisConnectionOptions, type DeadLetterStore, queueKeyBase, queuePrefix, type RedisClient } from '@conveyor/shared';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { E2E_PAYLOAD_KEYS, repoRoot } from '../stack.ts';
import { startRedisDeployment, type ChaosTopology, type RedisDeployment, type RedisDeploymentOptions } from './redis-deployment.ts';

export const CHAOS_PREFIX = 'chaos';

/** A fault that did not happen makes the case's figures meaningless: fail loudly. */
export class FaultNotVerifiedError extends Error {
  override readonly name = 'FaultNotVerifiedError';
}

// ---------------------------------------------------------------------------------------
// Redis

export type Persistence = 'aof-always' | 'none';

/** One standalone redis-server the case can kill and restart (the cases that fault Redis itself). */
export interface ChaosRedis extends RedisDeployment {
  readonly topology: 'standalone';
  readonly url: string;
  readonly port: number;
  readonly persistence: Persistence;
  /** `INFO server` run_id and process_id of the server now running. */
  identity(): Promise<{ runId: string; pid: number }>;
  /** SIGKILLs redis-server and checks that its process is gone. Returns the dead PID. */
  kill(): Promise<number>;
  /** Starts redis-server again on the same port and data directory; checks run_id changed. */
  restart(): Promise<void>;
  /** One short-lived command connection (closed by `stop`). */
  client(): Redis;
  stop(): Promise<void>;
}

export async function startChaosRedis(persistence: Persistence): Promise<ChaosRedis> {
  const dataDir = persistence === 'aof-always' ? mkdtempSync(join(tmpdir(), 'conveyor-chaos-')) : undefined;
  const options = (port?: number) => ({
    ...(port ? { port } : {}),
    ...(dataDir ? { dataDir, extraArgs: ['--appendfsync', 'always'] } : {}),
  });
  let server: RedisServerHandle = await startRedisServer(options());
  const port = server.port;
  const clients: Redis[] = [];
  let lastRunId = '';

  const client = () => {
    const redis = new Redis(port, '127.0.0.1', { lazyConnect: false, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    redis.on('error', () => {});
    clients.push(redis);
    return redis;
  };
  const identity = async () => {
    const redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => {});
    try {
      const info = await redis.info('server');
      const runId = /run_id:(\w+)/.exec(info)?.[1] ?? '';
      const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
      return { runId, pid };
    } finally {
      redis.disconnect();
    }
  };
  const checkPersistence = async () => {
    if (persistence !== 'aof-always') return;
    const redis = client();
    const [, appendonly] = (await redis.config('GET', 'appendonly')) as string[];
    const [, fsync] = (await redis.config('GET', 'appendfsync')) as string[];
    if (appendonly !== 'yes' || fsync !== 'always') {
      throw new FaultNotVerifiedError(`redis-server runs with appendonly=${appendonly} appendfsync=${fsync}, not always`);
    }
  };
  await checkPersistence();
  lastRunId = (await identity()).runId;

  return {
    topology: 'standalone',
    appEnv: { REDIS_URL: server.url },
    url: server.url,
    port,
    persistence,
    identity,
    client,
    bullConnection: () => redisConnectionOptions({ url: server.url, mode: 'wait-out' }),
    async kill() {
      const { pid } = await identity();
      if (pid !== server.process.pid) throw new FaultNotVerifiedError(`Redis on ${port} is pid ${pid}, not ours`);
      const exited = new Promise((resolve) => server.process.once('exit', resolve));
      server.process.kill('SIGKILL');
      await exited;
      if (processAlive(pid)) throw new FaultNotVerifiedError(`redis-server ${pid} survived SIGKILL`);
      return pid;
    },
    async restart() {
      // The port was just freed; retry briefly in case the kernel still holds it.
      for (let tryNo = 1; ; tryNo++) {
        try {
          server = await startRedisServer(options(port));
          break;
        } catch (error) {
          if (tryNo >= 10) throw error;
          await sleep(300);
        }
      }
      const { runId } = await identity();
      if (!runId || runId === lastRunId) throw new FaultNotVerifiedError(`run_id did not change (${runId})`);
      lastRunId = runId;
      await checkPersistence();
    },
    async stop() {
      for (const redis of clients) redis.disconnect();
      await server.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// Apps

export interface ChaosApp {
  readonly proc: AppProcess;
  readonly pid: number;
  readonly url: string;
}

const appEntry = (name: string) => join(repoRoot, name, 'src', 'main.ts');

/** Waits for the app's ready line; an app that never gets there is killed, not leaked. */
async function ready(proc: AppProcess, line: RegExp): Promise<void> {
  try {
    await proc.waitForOutput(line, 60_000);
  } catch (error) {
    await proc.stop('SIGKILL');
    throw error;
  }
}

/** Starts a producer on the Redis `redisEnv` names (REDIS_URL, or a Sentinel or Cluster's variables). */
export async function startProducer(redisEnv: Record<string, string>, env: Record<string, string> = {}): Promise<ChaosApp> {
  const port = await freePort();
  const proc = startApp(
    appEntry('producer'),
    { ...redisEnv, CONVEYOR_PREFIX: CHAOS_PREFIX, PORT: String(port), LOG_LEVEL: 'info', PAYLOAD_ENCRYPTION_KEYS: E2E_PAYLOAD_KEYS, ...env },
    join(repoRoot, 'producer'),
  );
  await ready(proc, /producer listening on/);
  return { proc, pid: proc.child.pid!, url: `http://127.0.0.1:${port}` };
}

/** Starts a worker on the Redis `redisEnv` names. */
export async function startWorker(redisEnv: Record<string, string>, env: Record<string, string> = {}): Promise<ChaosApp> {
  const port = await freePort();
  const proc = startApp(
    appEntry('worker'),
    {
      ...redisEnv,
      CONVEYOR_PREFIX: CHAOS_PREFIX,
      PORT: String(port),
      LOG_LEVEL: 'info',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      WEBHOOK_SIGNING_SECRET: 'chaos-signing-secret',
      EMAIL_LATENCY_MS: '0',
      PAYLOAD_ENCRYPTION_KEYS: E2E_PAYLOAD_KEYS,
      ...env,
    },
    join(repoRoot, 'worker'),
  );
  await ready(proc, /worker ready/);
  return { proc, pid: proc.child.pid!, url: `http://127.0.0.1:${port}` };
}

/** SIGKILLs an app and checks its PID is gone. */
export async function killApp(app: ChaosApp): Promise<void> {
  app.proc.child.kill('SIGKILL');
  const { signal } = await app.proc.exited;
  if (signal !== 'SIGKILL' || processAlive(app.pid)) throw new FaultNotVerifiedError(`process ${app.pid} did not die by SIGKILL`);
}

// ---------------------------------------------------------------------------------------
// The receiver: the ledger of executions

export interface Delivery {
  /** The `key` the load generator put in the payload (job ids repeat after Redis loses its data). */
  key: string;
  /** `X-Conveyor-Delivery`: the job id. */
  jobId: string;
  atMs: number;
  /** The status answered (0: never answered). */
  status: number;
}

export interface Receiver {
  /** `http://127.0.0.1:<port>`; paths `/ok`, `/fail` (500) and `/hang` (never answers). */
  readonly url: string;
  /** Every delivery, in arrival order. */
  readonly deliveries: Delivery[];
  /** Payload keys answered 2xx, with how many times each was. */
  succeeded(): Map<string, number>;
  close(): Promise<void>;
}

function keyOf(body: string): string | undefined {
  try {
    const key = (JSON.parse(body) as { payload?: { key?: unknown } }).payload?.key;
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}

/** The webhook.deliver payload of the i-th job of a run: the receiver's ledger keys on `key`. */
export function webhookJob(receiver: Receiver, path: '/ok' | '/fail' | '/hang', key: string) {
  return { url: `${receiver.url}${path}`, event: 'chaos.test', payload: { key } };
}

/** A webhook receiver; `/ok` answers 204 after `delayMs`, so jobs are in flight when things die. */
export async function startReceiver(options: { delayMs?: number } = {}): Promise<Receiver> {
  const deliveries: Delivery[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const jobId = String(req.headers['x-conveyor-delivery'] ?? '');
      const delivery: Delivery = { key: keyOf(Buffer.concat(chunks).toString('utf8')) ?? jobId, jobId, atMs: Date.now(), status: 0 };
      deliveries.push(delivery);
      const answer = (status: number) => {
        delivery.status = status;
        res.writeHead(status).end();
      };
      if (req.url === '/hang') return;
      if (req.url === '/fail') return answer(500);
      if (options.delayMs) setTimeout(() => answer(204), options.delayMs);
      else answer(204);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    succeeded() {
      const counts = new Map<string, number>();
      for (const d of deliveries) if (d.status >= 200 && d.status < 300) counts.set(d.key, (counts.get(d.key) ?? 0) + 1);
      return counts;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------
// Load

export interface RequestOutcome {
  index: number;
  /** The payload key, when the payload has one. */
  key?: string;
  status: number;
  /** The job id of a 2xx answer. */
  jobId?: string;
  /** The error envelope's code of a 4xx/5xx answer (`redis_unavailable`, `not_replicated`…). */
  code?: string;
  startedMs: number;
  latencyMs: number;
  /** No answer within the client's timeout. */
  hung: boolean;
}

/** How long the load generator waits for an answer before counting the request as hung. */
export const HUNG_AFTER_MS = 5_000;

/** POSTs one job to the producer; never throws. */
export async function postJob(producerUrl: string, name: string, data: unknown, index: number): Promise<RequestOutcome> {
  const startedMs = Date.now();
  const started = performance.now();
  try {
    const response = await fetch(`${producerUrl}/v1/jobs/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data }),
      signal: AbortSignal.timeout(HUNG_AFTER_MS),
    });
    const body = (await response.json()) as { id?: string; error?: { code?: string } };
    const outcome: RequestOutcome = { index, ...keyField(data), status: response.status, startedMs, latencyMs: performance.now() - started, hung: false };
    if (response.ok && body.id) outcome.jobId = body.id;
    if (body.error?.code) outcome.code = body.error.code;
    return outcome;
  } catch (error) {
    const hung = (error as Error).name === 'TimeoutError';
    return { index, ...keyField(data), status: 0, startedMs, latencyMs: performance.now() - started, hung };
  }
}

function keyField(data: unknown): { key?: string } {
  const key = (data as { payload?: { key?: unknown } } | undefined)?.payload?.key;
  return typeof key === 'string' ? { key } : {};
}

/** POSTs `count` jobs with `concurrency` requests in flight; `data(i)` makes the i-th payload. */
export async function enqueueMany(
  producerUrl: string,
  name: string,
  count: number,
  data: (index: number) => unknown,
  options: { concurrency?: number; onProgress?: (done: number) => void; paused?: () => Promise<void> | undefined } = {},
): Promise<RequestOutcome[]> {
  const outcomes: RequestOutcome[] = [];
  let next = 0;
  const lane = async () => {
    while (next < count) {
      await options.paused?.();
      const index = next++;
      outcomes.push(await postJob(producerUrl, name, data(index), index));
      options.onProgress?.(outcomes.length);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 20 }, lane));
  return outcomes;
}

/** POSTs at a fixed rate for `durationMs`, each request on its own (no lanes: a hung one blocks nothing). */
export async function enqueueAtRate(
  producerUrl: string,
  name: string,
  options: { perSecond: number; durationMs: number; data: (index: number) => unknown },
): Promise<RequestOutcome[]> {
  const pending: Promise<RequestOutcome>[] = [];
  const start = Date.now();
  const gapMs = 1_000 / options.perSecond;
  for (let index = 0; Date.now() - start < options.durationMs; index++) {
    pending.push(postJob(producerUrl, name, options.data(index), index));
    const due = start + (index + 1) * gapMs;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
  }
  return Promise.all(pending);
}

/** The payload keys of the jobs the producer acknowledged with 2xx. */
export function acknowledged(outcomes: RequestOutcome[]): string[] {
  return outcomes.filter((o) => o.jobId !== undefined && o.key !== undefined).map((o) => o.key!);
}

// ---------------------------------------------------------------------------------------
// Settling and counting

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  prioritized: number;
  failed: number;
  deadLettered: number;
}

/**
 * Counts of `queue` read straight from Redis (BullMQ's key layout), and of its DLQ from the
 * store. On a Cluster each command goes to the shard of the queue's hash tag; the reads are
 * separate commands, not one snapshot, on every topology.
 */
export async function queueCounts(redis: RedisClient, queue: string, deadLetters?: DeadLetterStore): Promise<QueueCounts> {
  const key = (part: string) => `${queueKeyBase(CHAOS_PREFIX, queue)}:${part}`;
  const [waiting, active, delayed, prioritized, failed, deadLettered] = await Promise.all([
    redis.llen(key('wait')),
    redis.llen(key('active')),
    redis.zcard(key('delayed')),
    redis.zcard(key('prioritized')),
    redis.zcard(key('failed')),
    deadLetters ? deadLetters.count(queue) : Promise.resolve(0),
  ]);
  return { waiting, active, delayed, prioritized, failed, deadLettered };
}

/** The dead-letter store over the chaos Redis (the same API the dashboard uses). */
export function openDeadLetters(redis: RedisDeployment): DeadLetterStore {
  return createDeadLetterStore({
    connection: redis.bullConnection(),
    prefix: CHAOS_PREFIX,
    logger: createLogger({ name: 'chaos', level: 'silent' }),
  });
}

/**
 * Waits until `queue` holds nothing waiting, active or delayed and the receiver has been
 * quiet for `quietMs`, or `timeoutMs` passed. Returns how long it took and whether it settled.
 */
export async function settle(
  redis: RedisClient,
  queue: string,
  receiver: Receiver | undefined,
  options: { timeoutMs: number; quietMs?: number; until?: () => boolean },
): Promise<{ settled: boolean; ms: number }> {
  const start = Date.now();
  const quietMs = options.quietMs ?? 1_500;
  let lastCount = -1;
  let quietSince = Date.now();
  while (Date.now() - start < options.timeoutMs) {
    if (options.until?.()) return { settled: true, ms: Date.now() - start };
    const count = receiver?.deliveries.length ?? 0;
    if (count !== lastCount) {
      lastCount = count;
      quietSince = Date.now();
    }
    try {
      const c = await queueCounts(redis, queue);
      if (c.waiting + c.active + c.delayed + c.prioritized === 0 && Date.now() - quietSince >= quietMs) {
        return { settled: true, ms: Date.now() - start };
      }
    } catch {
      // Redis may be down in a case's negative control; keep waiting.
    }
    await sleep(200);
  }
  return { settled: false, ms: Date.now() - start };
}

/** Lost: acknowledged keys the receiver never answered 2xx for. Duplicates: extra 2xx executions. */
export function ledger(acked: string[], receiver: Receiver): { lost: string[]; completed: number; duplicates: number } {
  const succeeded = receiver.succeeded();
  const lost = acked.filter((id) => !succeeded.has(id));
  let duplicates = 0;
  for (const id of acked) duplicates += Math.max(0, (succeeded.get(id) ?? 0) - 1);
  return { lost, completed: acked.length - lost.length, duplicates };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function randomBetween(min: number, max: number): number {
  return min + Math.random() * (max - min);
}

/** Closes what a case opened, last first, even when the case failed. */
export class Cleanup {
  private readonly steps: (() => Promise<unknown>)[] = [];
  add<T>(value: T, close: (value: T) => Promise<unknown>): T {
    this.steps.push(() => close(value));
    return value;
  }
  async run(): Promise<void> {
    for (const step of this.steps.reverse()) {
      try {
        await step();
      } catch {
        // Best effort: one failed close must not leave the rest running.
      }
    }
  }
}

/**
 * What one case starts — Redis, receiver, apps, queues — closed in reverse order when the
 * case ends, even when it failed. `inWorld(async (world) => …)` is how every case runs.
 */
export class World {
  private readonly cleanup = new Cleanup();

  /** A standalone redis-server the case may SIGKILL and restart. */
  redis(persistence: Persistence): Promise<ChaosRedis> {
    return this.track(startChaosRedis(persistence), (r) => r.stop());
  }
  /** The Redis of the run's topology, for a case whose fault is not Redis itself. */
  topology(topology: ChaosTopology, options: RedisDeploymentOptions = {}): Promise<RedisDeployment> {
    return this.track(startRedisDeployment(topology, options), (r) => r.stop());
  }
  receiver(options: { delayMs?: number } = {}): Promise<Receiver> {
    return this.track(startReceiver(options), (r) => r.close());
  }
  producer(redis: RedisDeployment, env: Record<string, string> = {}): Promise<ChaosApp> {
    return this.track(startProducer(redis.appEnv, env), (a) => a.proc.stop());
  }
  worker(redis: RedisDeployment, env: Record<string, string> = {}): Promise<ChaosApp> {
    return this.track(startWorker(redis.appEnv, env), (a) => a.proc.stop());
  }
  /** A plain BullMQ Queue on Conveyor's key layout (a Cluster connection on a cluster). */
  queue(redis: RedisDeployment, name: string): Queue {
    const queue = new Queue(name, { connection: redis.bullConnection(), prefix: queuePrefix(CHAOS_PREFIX, name) });
    queue.on('error', () => {});
    return this.cleanup.add(queue, (q) => q.close());
  }
  deadLetters(redis: RedisDeployment): DeadLetterStore {
    return this.cleanup.add(openDeadLetters(redis), (d) => d.close());
  }
  /** Runs `close` when the case ends (before what was started earlier is closed). */
  onClose(close: () => Promise<unknown>): void {
    this.cleanup.add(undefined, close);
  }
  close(): Promise<void> {
    return this.cleanup.run();
  }
  private async track<T>(starting: Promise<T>, close: (value: T) => Promise<unknown>): Promise<T> {
    return this.cleanup.add(await starting, close);
  }
}

export async function inWorld<T>(body: (world: World) => Promise<T>): Promise<T> {
  const world = new World();
  try {
    return await body(world);
  } finally {
    await world.close();
  }
}
