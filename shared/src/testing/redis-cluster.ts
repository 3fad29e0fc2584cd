/**
 * A private Redis Cluster for tests: `masters` primaries (default 3) and `replicasPerMaster`
 * replicas each (default 0), every node a `redis-server` on a free loopback port (never 6379)
 * with its cluster bus on another free port (`--cluster-port`), joined and given the 16,384
 * slots by Debian's `redis-cli --cluster create`. Resolves once every node reports
 * `cluster_state:ok` and every replica has synced with its master: a replica that never
 * synced refuses to take over when its master dies (its data is too old to be elected).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort, startRedisServer, type RedisServerHandle } from '../redis-server.ts';

export interface RedisClusterOptions {
  /** Primaries. Default 3 (Redis Cluster's minimum). */
  masters?: number;
  /** Replicas of each primary. Default 0. */
  replicasPerMaster?: number;
  /** cluster-node-timeout, in ms. Default 2,000. */
  nodeTimeoutMs?: number;
  /** Extra arguments of every node (ACL files, TLS). Default none. */
  nodeArgs?: string[];
  /** AUTH for redis-cli and the readiness checks, when `nodeArgs` require it. */
  auth?: { username?: string; password: string };
  /**
   * TLS only: every node listens on a TLS port with its plain port off, and the cluster bus and
   * replication use TLS too (`tls-cluster`, `tls-replication`). Clients need not present a
   * certificate.
   */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

export interface RedisCluster {
  nodes: RedisServerHandle[];
  /** The port clients use on `node`: its TLS port under `tls`, else its port. */
  clientPort(node: RedisServerHandle): number;
  /** ioredis options of a client of any node: the `auth` given and, under `tls`, the CA. */
  clientOptions: RedisOptions;
  /** REDIS_CLUSTER_NODES for the apps: every node, `127.0.0.1:p1,127.0.0.1:p2,…`. */
  nodesEnv: string;
  /** Stops every node and removes the directory. */
  stop(): Promise<void>;
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 0;
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-cluster-'));
  const nodes: RedisServerHandle[] = [];
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const nodeDir = join(dir, `node-${i}`);
      mkdirSync(nodeDir);
      const tls = options.tls;
      nodes.push(
        await startRedisServer({
          ...(tls ? { tlsPort: 0 } : {}),
          extraArgs: [
            '--dir', nodeDir,
            '--cluster-enabled', 'yes',
            '--cluster-config-file', join(nodeDir, 'nodes.conf'),
            '--cluster-port', String(await freePort()),
            '--cluster-node-timeout', String(options.nodeTimeoutMs ?? 2_000),
            // Redis 7 waits 5 s for more replicas before a diskless full sync; none are coming.
            '--repl-diskless-sync-delay', '0',
            ...(tls
              ? ['--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', 'no', '--tls-cluster', 'yes', '--tls-replication', 'yes', '--port', '0']
              : []),
            ...(options.nodeArgs ?? []),
          ],
        }),
      );
    }
    const auth = options.auth;
    const clientPort = (node: RedisServerHandle) => (options.tls ? node.tlsPort! : node.port);
    const clientOptions: RedisOptions = {
      ...auth,
      ...(options.tls ? { tls: { ca: readFileSync(options.tls.caFile, 'utf8'), servername: 'localhost' } } : {}),
    };
    await run('redis-cli', [
      ...(auth?.username ? ['--user', auth.username] : []),
      ...(auth ? ['--pass', auth.password, '--no-auth-warning'] : []),
      ...(options.tls ? ['--tls', '--cacert', options.tls.caFile, '--sni', 'localhost'] : []),
      '--cluster', 'create',
      ...nodes.map((node) => `127.0.0.1:${clientPort(node)}`),
      '--cluster-replicas', String(replicas),
      '--cluster-yes',
    ]);
    await Promise.all(nodes.map((node) => waitForClusterOk(clientPort(node), clientOptions, nodes.length)));
    await Promise.all(nodes.map((node) => waitForReplicaSynced(clientPort(node), clientOptions)));
    return {
      nodes,
      clientPort,
      clientOptions,
      nodesEnv: nodes.map((node) => `127.0.0.1:${clientPort(node)}`).join(','),
      stop: () => stopAll(nodes, dir),
    };
  } catch (error) {
    await stopAll(nodes, dir);
    throw error;
  }
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`)),
    );
  });
}

/** Waits until the node says the cluster is ok and knows all `size` nodes. */
function waitForClusterOk(port: number, clientOptions: RedisOptions, size: number): Promise<void> {
  return pollNode(port, clientOptions, 'to see the cluster ok', (client) => client.cluster('INFO'), (info) =>
    /^cluster_state:ok/m.test(info) && new RegExp(`^cluster_known_nodes:${size}\\b`, 'm').test(info),
  );
}

/** Waits until the node, when it is a replica, has synced with its master. */
function waitForReplicaSynced(port: number, clientOptions: RedisOptions): Promise<void> {
  return pollNode(port, clientOptions, 'to sync as a replica', (client) => client.info('replication'), (info) =>
    /^role:master/m.test(info) || (/^master_link_status:up/m.test(info) && /^master_sync_in_progress:0/m.test(info)),
  );
}

/** Reads `read` from the node every 100 ms until `done` holds; throws with the last reading after 20 s. */
async function pollNode(port: number, clientOptions: RedisOptions, what: string, read: (client: Redis) => Promise<string>, done: (reading: string) => boolean): Promise<void> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, ...clientOptions });
  try {
    const deadline = Date.now() + 20_000;
    let reading = '';
    while (Date.now() < deadline) {
      reading = await read(client);
      if (done(reading)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`cluster node 127.0.0.1:${port} failed ${what} in 20 s:\n${reading}`);
  } finally {
    client.disconnect();
  }
}

async function stopAll(servers: readonly RedisServerHandle[], dir: string): Promise<void> {
  await Promise.all(servers.map((server) => server.stop()));
  rmSync(dir, { recursive: true, force: true });
}
