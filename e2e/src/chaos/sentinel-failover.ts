/**
 * Chaos case 9: Redis Sentinel, the master SIGKILLed mid-run.
 *
 * One world per enqueue mode (async, then durable): a master, a replica and three Sentinels
 * (startSentinelSet), a producer and a worker configured with REDIS_SENTINELS and
 * REDIS_SENTINEL_NAME only, and a webhook receiver that is the ledger of executions. Load
 * runs; the master is SIGKILLed (its PID must be gone); the Sentinels promote the replica (its
 * ROLE must be master, its run_id another); the dead node comes back as a replica of the new
 * master; load goes on until jobs are acknowledged again. The same producer and worker
 * processes must carry on — no restart. Then every acknowledged job must have run.
 *
 * Replication is asynchronous: in async mode, a job acknowledged just before the kill may
 * not have reached the replica, and is lost with the master; the case reports how many. In
 * durable mode (PRODUCER_DURABLE_ENQUEUE) the producer acknowledges only after WAIT saw a
 * replica take the job, so none may be lost; while no replica is there it answers 503
 * not_replicated instead.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort, startApp, startRedisServer, startSentinelSet, waitFor, type AppProcess, type RedisServerHandle } from '@conveyor/shared/testing';
import { E2E_PAYLOAD_KEYS, repoRoot } from '../stack.ts';
import { acknowledged, CHAOS_PREFIX, FaultNotVerifiedError, inWorld, ledger, postJob, processAlive, settle, webhookJob, type RequestOutcome } from './harness.ts';
import type { ChaosCase, ChaosOptions, Figures } from './cases.ts';

type Mode = 'async' | 'durable';

interface ModeRun {
  mode: Mode;
  fault: string;
  figures: Figures;
  lost: number;
  problems: string[];
}

async function failoverRun(mode: Mode, options: ChaosOptions): Promise<ModeRun> {
  return inWorld(async (world) => {
    const set = await startSentinelSet({ downAfterMs: 1_000, failoverTimeoutMs: 5_000 });
    world.onClose(() => set.stop());
    const receiver = await world.receiver({ delayMs: 20 });
    const sentinelEnv = { REDIS_SENTINELS: set.sentinelsEnv, REDIS_SENTINEL_NAME: set.name, CONVEYOR_PREFIX: CHAOS_PREFIX, LOG_LEVEL: 'info', PAYLOAD_ENCRYPTION_KEYS: E2E_PAYLOAD_KEYS };
    const app = async (name: 'producer' | 'worker', env: Record<string, string>, ready: RegExp) => {
      const port = await freePort();
      const proc = startApp(join(repoRoot, name, 'src', 'main.ts'), { ...sentinelEnv, PORT: String(port), ...env }, join(repoRoot, name));
      world.onClose(() => proc.stop());
      await proc.waitForOutput(ready, 60_000);
      return { proc, url: `http://127.0.0.1:${port}` };
    };
    const producer = await app('producer', mode === 'durable' ? { PRODUCER_DURABLE_ENQUEUE: 'true', PRODUCER_DURABLE_TIMEOUT_MS: '200' } : {}, /producer listening on/);
    const worker = await app(
      'worker',
      { WORKER_QUEUES: 'webhook', WORKER_CONCURRENCY: '10', WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', WEBHOOK_SIGNING_SECRET: 'chaos-signing-secret', WORKER_STALLED_INTERVAL_MS: '2000' },
      /worker ready/,
    );
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
      const oldMaster = await nodeIdentity(set.master.port);
      const killedAtMs = Date.now();
      set.master.process.kill('SIGKILL');
      await waitFor(() => set.master.process.signalCode === 'SIGKILL', { what: 'the master to die' });
      if (processAlive(oldMaster.pid)) throw new FaultNotVerifiedError(`redis-server ${oldMaster.pid} survived SIGKILL`);
      const ackedBeforeKill = ackedCount();

      await waitFor(async () => (await set.masterPort().catch(() => 0)) === set.replica.port, { what: 'the Sentinels to promote the replica', timeoutMs: 30_000 });
      const promotedAtMs = Date.now();
      const newMaster = await nodeIdentity(set.replica.port);
      if (newMaster.role !== 'master' || newMaster.runId === oldMaster.runId) {
        throw new FaultNotVerifiedError(`the promoted node is ${newMaster.role} with run_id ${newMaster.runId}`);
      }
      // The dead node returns as a replica of the new master (durable mode needs one to acknowledge).
      const dir = mkdtempSync(join(tmpdir(), 'conveyor-rejoined-'));
      world.onClose(async () => rmSync(dir, { recursive: true, force: true }));
      const rejoined = await restartAsReplica(set.master.port, set.replica.port, dir);
      world.onClose(() => rejoined.stop());

      const afterPromotion = ackedCount();
      await waitFor(() => ackedCount() >= afterPromotion + (options.quick ? 50 : 500), { what: 'acknowledgements after the promotion', timeoutMs: 30_000 });
      stop = true;
      await load;

      const acked = acknowledged(outcomes);
      const client = new Redis({ port: set.replica.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
      world.onClose(async () => client.disconnect());
      const succeededAll = () => acked.every((key) => receiver.succeeded().has(key));
      const settled = await settle(client, 'webhook', receiver, { timeoutMs: options.quick ? 20_000 : 60_000, until: succeededAll });
      const { lost, duplicates } = ledger(acked, receiver);
      const count = (code: string) => outcomes.filter((o) => o.status === 503 && o.code === code).length;

      const problems: string[] = [];
      for (const [name, proc] of [['producer', producer.proc], ['worker', worker.proc]] as const) {
        if (!running(proc)) problems.push(`the ${name} process exited during the failover`);
      }
      if (ackedCount() <= afterPromotion) problems.push('nothing was acknowledged after the promotion: the producer did not follow it');
      if (!settled.settled) problems.push('the queue did not drain: the worker did not follow the promotion');
      if (mode === 'durable' && lost.length > 0) problems.push(`${lost.length} jobs acknowledged in durable mode were lost`);

      return {
        mode,
        lost: lost.length,
        problems,
        fault: `master pid ${oldMaster.pid} SIGKILLed (gone); replica :${set.replica.port} promoted (role master, run_id ${newMaster.runId.slice(0, 8)}… ≠ ${oldMaster.runId.slice(0, 8)}…) after ${((promotedAtMs - killedAtMs) / 1_000).toFixed(1)} s; same producer/worker PIDs`,
        figures: {
          [`${mode}: acknowledged`]: acked.length,
          [`${mode}: acknowledged before the kill`]: ackedBeforeKill,
          [`${mode}: lost`]: lost.length,
          [`${mode}: duplicate executions`]: duplicates,
          [`${mode}: 503 redis_unavailable`]: count('redis_unavailable'),
          [`${mode}: 503 not_replicated`]: count('not_replicated'),
          [`${mode}: failover s`]: Number(((promotedAtMs - killedAtMs) / 1_000).toFixed(1)),
        },
      };
    } finally {
      stop = true;
      await load;
    }
  });
}

function running(proc: AppProcess): boolean {
  return proc.child.exitCode === null && proc.child.signalCode === null;
}

async function nodeIdentity(port: number): Promise<{ pid: number; runId: string; role: string }> {
  const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  redis.on('error', () => {});
  try {
    const info = await redis.info();
    return {
      pid: Number(/process_id:(\d+)/.exec(info)?.[1]),
      runId: /run_id:(\w+)/.exec(info)?.[1] ?? '',
      role: /role:(\w+)/.exec(info)?.[1] ?? '',
    };
  } finally {
    redis.disconnect();
  }
}

/** Starts a fresh node on the dead master's port as a replica of the new one; its files go to `dir`. */
async function restartAsReplica(port: number, masterPort: number, dir: string): Promise<RedisServerHandle> {
  for (let tryNo = 1; ; tryNo++) {
    try {
      return await startRedisServer({ port, extraArgs: ['--dir', dir, '--replicaof', '127.0.0.1', String(masterPort)] });
    } catch (error) {
      if (tryNo >= 10) throw error;
      await sleep(300);
    }
  }
}

export const sentinelFailover: ChaosCase = {
  id: 9,
  title: 'Sentinel: the master SIGKILLed mid-run (async and durable enqueue)',
  async run(options) {
    const runs = [await failoverRun('async', options), await failoverRun('durable', options)];
    return {
      fault: runs.map((run) => `${run.mode}: ${run.fault}`).join(' / '),
      figures: Object.assign({}, ...runs.map((run) => run.figures)) as Figures,
      problems: runs.flatMap((run) => run.problems.map((problem) => `${run.mode}: ${problem}`)),
    };
  },
};
