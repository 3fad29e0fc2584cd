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
 * processes must carry on. Then every acknowledged job must have run.
 *
 * Replication is asynchronous here too: in async mode a job acknowledged just before the kill
 * may be lost with the master, and the case reports how many. In durable mode the producer
 * acknowledges only after WAIT on every master saw a replica take the write, so none may be
 * lost; while the promoted master has no replica it answers 503 not_replicated.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, Redis } from 'ioredis';
import { queueKeyBase } from '@conveyor/shared';
import { startRedisCluster, startRedisServer, waitFor, type RedisServerHandle } from '@conveyor/shared/testing';
import {
  acknowledged,
  CHAOS_PREFIX,
  FaultNotVerifiedError,
  inWorld,
  ledger,
  postJob,
  processAlive,
  settle,
  startProducer,
  startWorker,
  webhookJob,
  type ChaosApp,
  type RequestOutcome,
} from './harness.ts';
import type { ChaosCase, ChaosOptions, Figures } from './cases.ts';

type Mode = 'async' | 'durable';

async function failoverRun(mode: Mode, options: ChaosOptions) {
  return inWorld(async (world) => {
    const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    world.onClose(() => cluster.stop());
    const receiver = await world.receiver({ delayMs: 20 });
    const redisEnv = { REDIS_CLUSTER_NODES: cluster.nodesEnv };
    const producer = await startProducer(redisEnv, mode === 'durable' ? { PRODUCER_DURABLE_ENQUEUE: 'true', PRODUCER_DURABLE_TIMEOUT_MS: '200' } : {});
    world.onClose(() => producer.proc.stop());
    const worker = await startWorker(redisEnv, { WORKER_QUEUES: 'webhook', WORKER_CONCURRENCY: '10', WORKER_STALLED_INTERVAL_MS: '2000' });
    world.onClose(() => worker.proc.stop());
    await waitFor(async () => (await fetch(`${producer.url}/readyz`)).status === 200, { what: 'the producer to be ready', timeoutMs: 20_000 });
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
      const oldMaster = await nodeIdentity(victim.port);
      const killedAtMs = Date.now();
      victim.process.kill('SIGKILL');
      await waitFor(() => victim.process.signalCode === 'SIGKILL', { what: 'the master to die' });
      if (processAlive(oldMaster.pid)) throw new FaultNotVerifiedError(`redis-server ${oldMaster.pid} survived SIGKILL`);
      const ackedBeforeKill = ackedCount();

      await waitFor(async () => (await nodeIdentity(heir.port)).role === 'master', { what: 'the cluster to promote the replica', timeoutMs: 30_000, intervalMs: 100 });
      const promotedAtMs = Date.now();
      const newMaster = await nodeIdentity(heir.port);
      await waitFor(async () => (await holders())[2]![1] === heir.port, { what: 'CLUSTER SLOTS to name the promoted replica', timeoutMs: 15_000, intervalMs: 200 });
      if (newMaster.runId === oldMaster.runId) throw new FaultNotVerifiedError(`the promoted node has the dead master's run_id ${newMaster.runId}`);
      // The dead node returns on its port with its nodes.conf, as a replica of the promoted one.
      const rejoined = await restartNode(victim.port, victimArgs);
      world.onClose(() => rejoined.stop());
      await waitFor(async () => /master_link_status:up/.test(await nodeInfo(victim.port)), { what: 'the old master to rejoin as a replica', timeoutMs: 30_000, intervalMs: 200 });

      const afterPromotion = ackedCount();
      await waitFor(() => ackedCount() >= afterPromotion + (options.quick ? 50 : 500), { what: 'acknowledgements after the promotion', timeoutMs: 30_000 });
      stop = true;
      await load;

      const acked = acknowledged(outcomes);
      const succeededAll = () => acked.every((key) => receiver.succeeded().has(key));
      const settled = await settle(client, 'webhook', receiver, { timeoutMs: options.quick ? 20_000 : 60_000, until: succeededAll });
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
        fault: `master :${victim.port} of slot ${slot} (pid ${oldMaster.pid}) SIGKILLed (gone); replica :${heir.port} promoted (role master, serves the slot) after ${failoverS} s; the old node rejoined as its replica; same producer/worker PIDs`,
        figures: {
          [`${mode}: acknowledged`]: acked.length,
          [`${mode}: acknowledged before the kill`]: ackedBeforeKill,
          [`${mode}: lost`]: lost.length,
          [`${mode}: duplicate executions`]: duplicates,
          [`${mode}: 503 redis_unavailable`]: count('redis_unavailable'),
          [`${mode}: 503 not_replicated`]: count('not_replicated'),
          [`${mode}: failover s`]: failoverS,
        } satisfies Figures,
      };
    } finally {
      stop = true;
      await load;
    }
  });
}

function running(app: ChaosApp): boolean {
  return app.proc.child.exitCode === null && app.proc.child.signalCode === null;
}

async function nodeInfo(port: number): Promise<string> {
  const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  redis.on('error', () => {});
  try {
    return await redis.info();
  } finally {
    redis.disconnect();
  }
}

async function nodeIdentity(port: number): Promise<{ pid: number; runId: string; role: string }> {
  const info = await nodeInfo(port);
  return {
    pid: Number(/process_id:(\d+)/.exec(info)?.[1]),
    runId: /run_id:(\w+)/.exec(info)?.[1] ?? '',
    role: /role:(\w+)/.exec(info)?.[1] ?? '',
  };
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

async function restartNode(port: number, args: string[]): Promise<RedisServerHandle> {
  for (let tryNo = 1; ; tryNo++) {
    try {
      return await startRedisServer({ port, extraArgs: args });
    } catch (error) {
      if (tryNo >= 10) throw error;
      await sleep(300);
    }
  }
}

export const clusterFailover: ChaosCase = {
  id: 10,
  title: 'Cluster: the master of a queue’s shard SIGKILLed mid-run (async and durable enqueue)',
  skipOn: {
    standalone: 'it needs a Redis Cluster: run with --topology cluster',
    sentinel: 'it needs a Redis Cluster; Sentinel’s failover is case 9',
  },
  async run(options) {
    const runs: Awaited<ReturnType<typeof failoverRun>>[] = [];
    for (const mode of options.failoverModes ?? (['async', 'durable'] as const)) runs.push(await failoverRun(mode, options));
    return {
      fault: runs.map((run) => `${run.mode}: ${run.fault}`).join(' / '),
      figures: Object.assign({}, ...runs.map((run) => run.figures)) as Figures,
      problems: runs.flatMap((run) => run.problems.map((problem) => `${run.mode}: ${problem}`)),
    };
  },
};
