/**
 * What chaos cases 9 (Sentinel) and 10 (Cluster) share: a producer and a worker on the
 * topology's Redis variables, four lanes of webhook POSTs as load, the master SIGKILLed under
 * it, the promotion awaited and checked, load until jobs are acknowledged again, then every
 * acknowledged job counted at the receiver. The topology only says how to find, kill and
 * replace its master (`MasterFailover`). Replication is asynchronous: in async mode a job
 * acknowledged just before the kill may be lost with the master, and the run reports how many;
 * in durable mode (PRODUCER_DURABLE_ENQUEUE) none may be.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis, type Cluster } from 'ioredis';
import { startRedisServer, waitFor, type RedisServerHandle } from '@conveyor/shared/testing';
import { acknowledged, FaultNotVerifiedError, ledger, postJob, processAlive, settle, startProducer, startWorker, webhookJob, type ChaosApp, type RequestOutcome, type World } from './harness.ts';
import type { CaseResult, ChaosOptions, Figures } from './cases.ts';

export type EnqueueMode = 'async' | 'durable';

export interface MasterFailover {
  /** The apps' Redis variables (REDIS_SENTINELS…, REDIS_CLUSTER_NODES). */
  redisEnv: Record<string, string>;
  /** The master to kill. */
  master: RedisServerHandle;
  /** Resolves once the replica is the master; the time after it counts as the promotion. */
  awaitPromotion(): Promise<void>;
  /**
   * Checks the promotion against the dead master's run_id, brings the dead node back as a
   * replica (durable mode needs one to acknowledge) and says what happened, e.g.
   * `replica :7001 promoted (…)`.
   */
  afterPromotion(oldMaster: NodeIdentity, world: World): Promise<string>;
  /** A client of the promoted master (or the Cluster), to wait for the queue to drain. */
  client(world: World): Redis | Cluster;
  /** How the killed master is named in the fault, e.g. `master :7000 of slot 42`. Default `master`. */
  masterLabel?: string;
}

export interface ModeRun {
  mode: EnqueueMode;
  fault: string;
  figures: Figures;
  problems: string[];
}

/** One run of `mode` on `failover`'s topology, in `world`. */
export async function failoverUnderLoad(world: World, mode: EnqueueMode, options: ChaosOptions, failover: MasterFailover): Promise<ModeRun> {
  const receiver = await world.receiver({ delayMs: 20 });
  const producer = await startProducer(failover.redisEnv, mode === 'durable' ? { PRODUCER_DURABLE_ENQUEUE: 'true', PRODUCER_DURABLE_TIMEOUT_MS: '200' } : {});
  world.onClose(() => producer.proc.stop());
  const worker = await startWorker(failover.redisEnv, { WORKER_QUEUES: 'webhook', WORKER_CONCURRENCY: '10', WORKER_STALLED_INTERVAL_MS: '2000' });
  world.onClose(() => worker.proc.stop());
  await waitFor(async () => (await fetch(`${producer.url}/readyz`)).status === 200, { what: 'the producer to be ready', timeoutMs: 20_000 });

  // Load: lanes of sequential POSTs until told to stop.
  const outcomes: RequestOutcome[] = [];
  let stop = false;
  let next = 0;
  const lane = async () => {
    while (!stop) {
      const index = next++;
      outcomes.push(await postJob(producer.url, 'webhook.deliver', webhookJob(receiver, '/ok', `${mode}-${index}`), index));
      await sleep(options.quick ? 15 : 5);
    }
  };
  const load = Promise.all(Array.from({ length: 4 }, lane));
  const ackedCount = () => outcomes.filter((o) => o.jobId !== undefined).length;

  try {
    await waitFor(() => ackedCount() >= (options.quick ? 100 : 1_000), { what: 'load before the kill', timeoutMs: 30_000 });
    // The fault: SIGKILL the master, then check it happened.
    const oldMaster = await nodeIdentity(failover.master.port);
    const killedAtMs = Date.now();
    failover.master.process.kill('SIGKILL');
    await waitFor(() => failover.master.process.signalCode === 'SIGKILL', { what: 'the master to die' });
    if (processAlive(oldMaster.pid)) throw new FaultNotVerifiedError(`redis-server ${oldMaster.pid} survived SIGKILL`);
    const ackedBeforeKill = ackedCount();

    await failover.awaitPromotion();
    const promotedAtMs = Date.now();
    const promoted = await failover.afterPromotion(oldMaster, world);

    const afterPromotion = ackedCount();
    await waitFor(() => ackedCount() >= afterPromotion + (options.quick ? 50 : 500), { what: 'acknowledgements after the promotion', timeoutMs: 30_000 });
    stop = true;
    await load;

    const acked = acknowledged(outcomes);
    const succeededAll = () => acked.every((key) => receiver.succeeded().has(key));
    const settled = await settle(failover.client(world), 'webhook', receiver, { timeoutMs: options.quick ? 20_000 : 60_000, until: succeededAll });
    const { lost, duplicates } = ledger(acked, receiver);
    const count = (code: string) => outcomes.filter((o) => o.status === 503 && o.code === code).length;

    const problems: string[] = [];
    for (const [name, app] of [['producer', producer], ['worker', worker]] as const) {
      if (!running(app)) problems.push(`the ${name} process exited during the failover`);
    }
    if (ackedCount() <= afterPromotion) problems.push('nothing was acknowledged after the promotion: the producer did not follow it');
    if (!settled.settled) problems.push('the queue did not drain: the worker did not follow the promotion');
    if (mode === 'durable' && lost.length > 0) problems.push(`${lost.length} jobs acknowledged in durable mode were lost`);

    const failoverS = Number(((promotedAtMs - killedAtMs) / 1_000).toFixed(1));
    return {
      mode,
      problems,
      fault: `${failover.masterLabel ?? 'master'} (pid ${oldMaster.pid}) SIGKILLed (gone); ${promoted} after ${failoverS} s; same producer/worker PIDs`,
      figures: {
        [`${mode}: acknowledged`]: acked.length,
        [`${mode}: acknowledged before the kill`]: ackedBeforeKill,
        [`${mode}: lost`]: lost.length,
        [`${mode}: duplicate executions`]: duplicates,
        [`${mode}: 503 redis_unavailable`]: count('redis_unavailable'),
        [`${mode}: 503 not_replicated`]: count('not_replicated'),
        [`${mode}: failover s`]: failoverS,
      },
    };
  } finally {
    stop = true;
    await load;
  }
}

/** Runs each mode of `options.failoverModes` (default async, then durable) and merges them into the case's result. */
export async function failoverCase(options: ChaosOptions, run: (mode: EnqueueMode) => Promise<ModeRun>): Promise<Omit<CaseResult, 'id' | 'title' | 'durationMs'>> {
  const runs: ModeRun[] = [];
  for (const mode of options.failoverModes ?? (['async', 'durable'] as const)) runs.push(await run(mode));
  return {
    fault: runs.map((run) => `${run.mode}: ${run.fault}`).join(' / '),
    figures: Object.assign({}, ...runs.map((run) => run.figures)) as Figures,
    problems: runs.flatMap((run) => run.problems.map((problem) => `${run.mode}: ${problem}`)),
  };
}

function running(app: ChaosApp): boolean {
  return app.proc.child.exitCode === null && app.proc.child.signalCode === null;
}

/** INFO of the node on `port` (a short-lived connection that never retries). */
export async function nodeInfo(port: number): Promise<string> {
  const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  redis.on('error', () => {});
  try {
    return await redis.info();
  } finally {
    redis.disconnect();
  }
}

export interface NodeIdentity {
  pid: number;
  runId: string;
  role: string;
}

export async function nodeIdentity(port: number): Promise<NodeIdentity> {
  const info = await nodeInfo(port);
  return {
    pid: Number(/process_id:(\d+)/.exec(info)?.[1]),
    runId: /run_id:(\w+)/.exec(info)?.[1] ?? '',
    role: /role:(\w+)/.exec(info)?.[1] ?? '',
  };
}

/** Starts a redis-server on the dead node's `port` with `args`, trying again while the port is still held. */
export async function restartOnPort(port: number, args: string[]): Promise<RedisServerHandle> {
  for (let tryNo = 1; ; tryNo++) {
    try {
      return await startRedisServer({ port, extraArgs: args });
    } catch (error) {
      if (tryNo >= 10) throw error;
      await sleep(300);
    }
  }
}
