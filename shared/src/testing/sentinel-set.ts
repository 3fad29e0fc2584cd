/**
 * A private Redis Sentinel deployment for tests: one master, one replica and three Sentinels
 * (quorum 2), each a `redis-server` on a free loopback port (never 6379), with their files in
 * a fresh temporary directory. Sentinels declare the master down after `downAfterMs`, so a
 * killed master is replaced within a few seconds.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from '../redis-server.ts';

export interface SentinelSetOptions {
  /** Master group name. Default `conveyor`. */
  name?: string;
  /** Sentinels' down-after-milliseconds. Default 1,000. */
  downAfterMs?: number;
  /** Sentinels' failover-timeout, in ms. Default 5,000. */
  failoverTimeoutMs?: number;
  /** Extra arguments of the master and the replica (ACL files, TLS). Default none. */
  dataNodeArgs?: string[];
  /** When the data nodes need AUTH: the user and password Sentinels and replicas use. Default none. */
  replicationAuth?: { username: string; password: string };
}

export interface SentinelSet {
  name: string;
  /** The servers started as master and replica; after a failover their roles are swapped. */
  master: RedisServerHandle;
  replica: RedisServerHandle;
  sentinels: RedisServerHandle[];
  /** REDIS_SENTINELS for the apps: `127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`. */
  sentinelsEnv: string;
  /** The port of the master the Sentinels name now. */
  masterPort(): Promise<number>;
  /** Stops every process still running and removes the directory. */
  stop(): Promise<void>;
}

export async function startSentinelSet(options: SentinelSetOptions = {}): Promise<SentinelSet> {
  const name = options.name ?? 'conveyor';
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-sentinel-'));
  const started: RedisServerHandle[] = [];
  // Each data node its own directory: a replica's full sync writes a temporary RDB file there.
  const nodeDir = (label: string) => {
    mkdirSync(join(dir, label));
    return ['--dir', join(dir, label)];
  };
  const auth = options.replicationAuth;
  const replicationArgs = auth ? ['--masteruser', auth.username, '--masterauth', auth.password] : [];
  try {
    const master = await startRedisServer({ extraArgs: [...nodeDir('master'), ...replicationArgs, ...(options.dataNodeArgs ?? [])] });
    started.push(master);
    const replica = await startRedisServer({
      extraArgs: [...nodeDir('replica'), ...replicationArgs, ...(options.dataNodeArgs ?? []), '--replicaof', '127.0.0.1', String(master.port)],
    });
    started.push(replica);
    const sentinels: RedisServerHandle[] = [];
    for (let i = 0; i < 3; i++) {
      const configFile = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        configFile,
        [
          `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
          `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1_000}`,
          `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 5_000}`,
          `sentinel parallel-syncs ${name} 1`,
          ...(auth ? [`sentinel auth-user ${name} ${auth.username}`, `sentinel auth-pass ${name} ${auth.password}`] : []),
          '',
        ].join('\n'),
      );
      const sentinel = await startRedisServer({ configFile, sentinel: true, extraArgs: ['--dir', dir] });
      started.push(sentinel);
      sentinels.push(sentinel);
    }
    return {
      name,
      master,
      replica,
      sentinels,
      sentinelsEnv: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
      async masterPort() {
        for (const sentinel of sentinels) {
          if (sentinel.process.exitCode !== null) continue;
          const client = new Redis({ port: sentinel.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
          try {
            const reply = (await client.call('SENTINEL', 'get-master-addr-by-name', name)) as [string, string] | null;
            if (reply) return Number(reply[1]);
          } finally {
            client.disconnect();
          }
        }
        throw new Error('no Sentinel named a master');
      },
      stop: () => stopAll(started, dir),
    };
  } catch (error) {
    await stopAll(started, dir);
    throw error;
  }
}

async function stopAll(servers: readonly RedisServerHandle[], dir: string): Promise<void> {
  await Promise.all(servers.map((server) => server.stop()));
  rmSync(dir, { recursive: true, force: true });
}
