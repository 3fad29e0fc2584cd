/**
 * A private Redis Sentinel deployment for tests: one master, one replica and three Sentinels
 * (quorum 2), each a `redis-server` on a free loopback port (never 6379), with their files in
 * a fresh temporary directory. Sentinels declare the master down after `downAfterMs`, so a
 * killed master is replaced within a few seconds.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
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
  /**
   * TLS only, everywhere: data nodes and Sentinels listen on TLS ports with their plain ports
   * off, and replication and the Sentinels' links to the data nodes use TLS. Clients need not
   * present a certificate.
   */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

export interface SentinelSet {
  name: string;
  /** The servers started as master and replica; after a failover their roles are swapped. */
  master: RedisServerHandle;
  replica: RedisServerHandle;
  sentinels: RedisServerHandle[];
  /** REDIS_SENTINELS for the apps: `127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3` (the TLS ports under `tls`). */
  sentinelsEnv: string;
  /** The port clients use on `server`: its TLS port under `tls`, else its port. */
  clientPort(server: RedisServerHandle): number;
  /** ioredis options of a client of any node or Sentinel: the CA under `tls`. */
  clientOptions: RedisOptions;
  /** The port of the master the Sentinels name now (its TLS port under `tls`). */
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
  const tls = options.tls;
  const tlsArgs = tls
    ? ['--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', 'no', '--tls-replication', 'yes', '--port', '0']
    : [];
  const clientPort = (server: RedisServerHandle) => (tls ? server.tlsPort! : server.port);
  const clientOptions: RedisOptions = tls ? { tls: { ca: readFileSync(tls.caFile, 'utf8'), servername: 'localhost' } } : {};
  const tlsPort = tls ? { tlsPort: 0 } : {};
  try {
    const master = await startRedisServer({ ...tlsPort, extraArgs: [...nodeDir('master'), ...replicationArgs, ...tlsArgs, ...(options.dataNodeArgs ?? [])] });
    started.push(master);
    const replica = await startRedisServer({
      ...tlsPort,
      extraArgs: [...nodeDir('replica'), ...replicationArgs, ...tlsArgs, ...(options.dataNodeArgs ?? []), '--replicaof', '127.0.0.1', String(clientPort(master))],
    });
    started.push(replica);
    const sentinels: RedisServerHandle[] = [];
    for (let i = 0; i < 3; i++) {
      const configFile = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        configFile,
        [
          `sentinel monitor ${name} 127.0.0.1 ${clientPort(master)} 2`,
          `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1_000}`,
          `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 5_000}`,
          `sentinel parallel-syncs ${name} 1`,
          ...(auth ? [`sentinel auth-user ${name} ${auth.username}`, `sentinel auth-pass ${name} ${auth.password}`] : []),
          '',
        ].join('\n'),
      );
      const sentinel = await startRedisServer({ ...tlsPort, configFile, sentinel: true, extraArgs: ['--dir', dir, ...tlsArgs] });
      started.push(sentinel);
      sentinels.push(sentinel);
    }
    return {
      name,
      master,
      replica,
      sentinels,
      sentinelsEnv: sentinels.map((s) => `127.0.0.1:${clientPort(s)}`).join(','),
      clientPort,
      clientOptions,
      async masterPort() {
        for (const sentinel of sentinels) {
          if (sentinel.process.exitCode !== null) continue;
          const client = new Redis({ port: clientPort(sentinel), host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, ...clientOptions });
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
