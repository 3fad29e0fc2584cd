/**
 * Chaos case 9: Redis Sentinel, the master SIGKILLed mid-run.
 *
 * One world per enqueue mode (async, then durable): a master, a replica and three Sentinels
 * (startSentinelSet), a producer and a worker configured with REDIS_SENTINELS and
 * REDIS_SENTINEL_NAME only, and a webhook receiver that is the ledger of executions. Load
 * runs; the master is SIGKILLed (its PID must be gone); the Sentinels promote the replica (its
 * ROLE must be master, its run_id another); the dead node comes back as a replica of the new
 * master; load goes on until jobs are acknowledged again. The same producer and worker
 * processes must carry on — no restart. Then every acknowledged job must have run
 * (failover-under-load.ts, shared with case 10).
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
import { Redis } from 'ioredis';
import { startSentinelSet, waitFor } from '@conveyor/shared/testing';
import { FaultNotVerifiedError, inWorld } from './harness.ts';
import type { ChaosCase, ChaosOptions } from './cases.ts';
import { failoverCase, failoverUnderLoad, nodeIdentity, restartOnPort, type EnqueueMode, type ModeRun } from './failover-under-load.ts';

function failoverRun(mode: EnqueueMode, options: ChaosOptions): Promise<ModeRun> {
  return inWorld(async (world) => {
    const set = await startSentinelSet({ downAfterMs: 1_000, failoverTimeoutMs: 5_000 });
    world.onClose(() => set.stop());
    return failoverUnderLoad(world, mode, options, {
      redisEnv: { REDIS_SENTINELS: set.sentinelsEnv, REDIS_SENTINEL_NAME: set.name },
      master: set.master,
      awaitPromotion: () =>
        waitFor(async () => (await set.masterPort().catch(() => 0)) === set.replica.port, { what: 'the Sentinels to promote the replica', timeoutMs: 30_000 }).then(() => {}),
      async afterPromotion(oldMaster, world) {
        const newMaster = await nodeIdentity(set.replica.port);
        if (newMaster.role !== 'master' || newMaster.runId === oldMaster.runId) {
          throw new FaultNotVerifiedError(`the promoted node is ${newMaster.role} with run_id ${newMaster.runId}`);
        }
        // The dead node returns as a replica of the new master, its files in a fresh directory.
        const dir = mkdtempSync(join(tmpdir(), 'conveyor-rejoined-'));
        world.onClose(async () => rmSync(dir, { recursive: true, force: true }));
        const rejoined = await restartOnPort(set.master.port, ['--dir', dir, '--replicaof', '127.0.0.1', String(set.replica.port)]);
        world.onClose(() => rejoined.stop());
        return `replica :${set.replica.port} promoted (role master, run_id ${newMaster.runId.slice(0, 8)}… ≠ ${oldMaster.runId.slice(0, 8)}…)`;
      },
      client(world) {
        const client = new Redis({ port: set.replica.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
        world.onClose(async () => client.disconnect());
        return client;
      },
    });
  });
}

export const sentinelFailover: ChaosCase = {
  id: 9,
  title: 'Sentinel: the master SIGKILLed mid-run (async and durable enqueue)',
  run: (options) => failoverCase(options, (mode) => failoverRun(mode, options)),
};
