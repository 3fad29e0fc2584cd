/**
 * Chaos case 10: Redis Cluster, the master of the webhook queue's shard SIGKILLed mid-run —
 * on a Cluster, the analogue of the redis-server crash and outage cases (2, 3, 7), as case 9
 * is on Sentinel.
 *
 * One world per enqueue mode (async, then durable; ChaosOptions.failoverModes may pick one): three masters with a replica each
 * (startRedisCluster), a producer and a worker configured with REDIS_CLUSTER_NODES only, and a
 * webhook receiver that is the ledger of executions. Load runs; the master serving the
 * `{webhook}` hash slot is SIGKILLed (its PID must be gone); the cluster promotes its replica
 * (the replica's ROLE must be master, and CLUSTER SLOTS must name it for the slot); the dead
 * node is started again on its port with its own nodes.conf and rejoins as a replica of the
 * promoted one; load goes on until jobs are acknowledged again. The same producer and worker
 * processes must carry on. Then every acknowledged job must have run (failover-under-load.ts,
 * shared with case 9).
 *
 * Replication is asynchronous here too: in async mode a job acknowledged just before the kill
 * may be lost with the master, and the case reports how many. In durable mode the producer
 * acknowledges only after WAIT on every master saw a replica take the write, so none may be
 * lost; while the promoted master has no replica it answers 503 not_replicated.
 */
import { Cluster, Redis } from 'ioredis';
import { queueKeyBase } from '@conveyor/shared';
import { startRedisCluster, waitFor } from '@conveyor/shared/testing';
import { CHAOS_PREFIX, FaultNotVerifiedError, inWorld } from './harness.ts';
import type { ChaosCase, ChaosOptions } from './cases.ts';
import { failoverCase, failoverUnderLoad, nodeIdentity, nodeInfo, restartOnPort, type EnqueueMode, type ModeRun } from './failover-under-load.ts';

function failoverRun(mode: EnqueueMode, options: ChaosOptions): Promise<ModeRun> {
  return inWorld(async (world) => {
    const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    world.onClose(() => cluster.stop());
    const client = new Cluster(cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })), { redisOptions: { maxRetriesPerRequest: 1 } });
    client.on('error', () => {});
    world.onClose(async () => client.disconnect());

    // The master and replica of the webhook queue's slot.
    const slot = (await client.cluster('KEYSLOT', `${queueKeyBase(CHAOS_PREFIX, 'webhook')}:wait`)) as number;
    const holders = async () => (await client.cluster('SLOTS')).find(([from, to]) => slot >= from && slot <= to)!;
    const masterPort = (await holders())[2]![1];
    const victim = cluster.nodes.find((node) => node.port === masterPort)!;
    // Its replica, asked directly: CLUSTER SLOTS may leave out a replica a node has not fully learnt yet.
    const heir = await waitFor(
      async () => {
        for (const node of cluster.nodes) {
          const info = await nodeInfo(node.port);
          if (/role:slave/.test(info) && new RegExp(`master_port:${masterPort}\\b`).test(info)) return node;
        }
        return undefined;
      },
      { what: `the replica of master :${masterPort}`, timeoutMs: 10_000, intervalMs: 200 },
    );
    const victimArgs = await nodeArgs(victim.port);

    return failoverUnderLoad(world, mode, options, {
      redisEnv: { REDIS_CLUSTER_NODES: cluster.nodesEnv },
      master: victim,
      masterLabel: `master :${victim.port} of slot ${slot}`,
      awaitPromotion: () =>
        waitFor(async () => (await nodeIdentity(heir.port)).role === 'master', { what: 'the cluster to promote the replica', timeoutMs: 30_000, intervalMs: 100 }).then(() => {}),
      async afterPromotion(oldMaster, world) {
        const newMaster = await nodeIdentity(heir.port);
        await waitFor(async () => (await holders())[2]![1] === heir.port, { what: 'CLUSTER SLOTS to name the promoted replica', timeoutMs: 15_000, intervalMs: 200 });
        if (newMaster.runId === oldMaster.runId) throw new FaultNotVerifiedError(`the promoted node has the dead master's run_id ${newMaster.runId}`);
        // The dead node returns on its port with its nodes.conf, as a replica of the promoted one.
        const rejoined = await restartOnPort(victim.port, victimArgs);
        world.onClose(() => rejoined.stop());
        await waitFor(async () => /master_link_status:up/.test(await nodeInfo(victim.port)), { what: 'the old master to rejoin as a replica', timeoutMs: 30_000, intervalMs: 200 });
        return `replica :${heir.port} promoted (role master, serves the slot; the old node rejoined as its replica)`;
      },
      client: () => client,
    });
  });
}

/** The arguments a cluster node needs to come back as itself: its directory, nodes.conf and bus port. */
async function nodeArgs(port: number): Promise<string[]> {
  const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, lazyConnect: true });
  try {
    const get = async (name: string) => ((await redis.config('GET', name)) as string[])[1]!;
    return [
      '--dir', await get('dir'),
      '--cluster-enabled', 'yes',
      '--cluster-config-file', await get('cluster-config-file'),
      '--cluster-port', await get('cluster-port'),
      '--cluster-node-timeout', await get('cluster-node-timeout'),
      '--repl-diskless-sync-delay', '0',
    ];
  } finally {
    redis.disconnect();
  }
}

export const clusterFailover: ChaosCase = {
  id: 10,
  title: 'Cluster: the master of a queue’s shard SIGKILLed mid-run (async and durable enqueue)',
  skipOn: {
    standalone: 'it needs a Redis Cluster: run with --topology cluster',
    sentinel: 'it needs a Redis Cluster; Sentinel’s failover is case 9',
  },
  run: (options) => failoverCase(options, (mode) => failoverRun(mode, options)),
};
