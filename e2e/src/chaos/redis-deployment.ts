/**
 * The Redis a chaos case runs on, in the topology the run chose (`npm run chaos -- --topology
 * cluster`): `standalone` one redis-server, `sentinel` a master, a replica and three Sentinels
 * (startSentinelSet), `cluster` three masters (startRedisCluster). The apps get only that
 * topology's variables (REDIS_URL, REDIS_SENTINELS + REDIS_SENTINEL_NAME, or
 * REDIS_CLUSTER_NODES), and the case's own clients are of the matching kind — an ioredis
 * Cluster on a cluster — so reading BullMQ's keys by hand works on every topology.
 */
import type { Cluster } from 'ioredis';
import {
  bullConnection,
  createLogger,
  createRedisClient,
  standaloneTopology,
  type ConveyorRedisOptions,
  type RedisClient,
  type RedisConnectionSettings,
  type RedisTopology,
} from '@conveyor/shared';
import { startRedisCluster, startRedisServer, startSentinelSet } from '@conveyor/shared/testing';

export type ChaosTopology = 'standalone' | 'sentinel' | 'cluster';

export const chaosTopologies: readonly ChaosTopology[] = ['standalone', 'sentinel', 'cluster'];

export interface RedisDeployment {
  readonly topology: ChaosTopology;
  /** The Redis variables the apps are started with. */
  readonly appEnv: Record<string, string>;
  /** A command client of the topology's kind (a Cluster on a cluster) that waits out outages; closed by `stop`. */
  client(): RedisClient;
  /** BullMQ's `connection` for a Queue or a store: ioredis options, or on a cluster a Cluster closed by `stop`. */
  bullConnection(): ConveyorRedisOptions | Cluster;
  stop(): Promise<void>;
}

export interface RedisDeploymentOptions {
  /** Replicas of each cluster master (only `cluster`). Default 0: no case but a failover needs one. */
  replicasPerMaster?: number;
}

const silent = createLogger({ name: 'chaos-redis', level: 'silent' });

/** Starts the servers of `topology` on free loopback ports and the clients' bookkeeping around them. */
export async function startRedisDeployment(topology: ChaosTopology, options: RedisDeploymentOptions = {}): Promise<RedisDeployment> {
  const started = await startServers(topology, options);
  const closers: (() => Promise<void>)[] = [];
  const settings: RedisConnectionSettings = { topology: started.where, mode: 'wait-out', connectionName: 'chaos:case' };
  return {
    topology,
    appEnv: started.appEnv,
    client() {
      const client = createRedisClient(settings, silent);
      closers.push(async () => client.disconnect());
      return client;
    },
    bullConnection() {
      const { connection, close } = bullConnection(settings, silent);
      closers.push(close);
      return connection;
    },
    async stop() {
      for (const close of closers.reverse()) await close().catch(() => {});
      await started.stop();
    },
  };
}

async function startServers(
  topology: ChaosTopology,
  options: RedisDeploymentOptions,
): Promise<{ where: RedisTopology; appEnv: Record<string, string>; stop(): Promise<void> }> {
  const none = { auth: {} };
  if (topology === 'sentinel') {
    const set = await startSentinelSet();
    const sentinels = set.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port }));
    return {
      where: { kind: 'sentinel', sentinels, name: set.name, sentinelAuth: {}, ...none },
      appEnv: { REDIS_SENTINELS: set.sentinelsEnv, REDIS_SENTINEL_NAME: set.name },
      stop: () => set.stop(),
    };
  }
  if (topology === 'cluster') {
    const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: options.replicasPerMaster ?? 0 });
    return {
      where: { kind: 'cluster', nodes: cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })), ...none },
      appEnv: { REDIS_CLUSTER_NODES: cluster.nodesEnv },
      stop: () => cluster.stop(),
    };
  }
  const server = await startRedisServer();
  return { where: standaloneTopology(server.url), appEnv: { REDIS_URL: server.url }, stop: () => server.stop() };
}
