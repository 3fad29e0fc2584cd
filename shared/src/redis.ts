/**
 * The Redis connection factory.
 *
 * Two kinds of connection, after BullMQ's going-to-production guide:
 * - `fail-fast` for processes that answer people (producer, dashboard): no offline queue and
 *   one try per command, so a request made while Redis is away fails at once and HTTP can
 *   answer 503; the connection keeps reconnecting in the background.
 * - `wait-out` for workers: `maxRetriesPerRequest: null` and an offline queue, so a worker
 *   rides out an outage and resumes by itself when Redis returns.
 * Both reconnect forever with a capped delay; neither process exits because Redis went away.
 *
 * Where they connect follows the configured topology (redis-topology.ts). With Sentinel, every
 * (re)connect asks a Sentinel for the current master and checks its ROLE, so when the master
 * dies the next reconnect lands on the promoted replica; a client still attached to a demoted
 * master is moved by its first READONLY reply. (ioredis' failover detector is off: a
 * +switch-master that arrives while a client is reconnecting ends that client for good.)
 * With Redis Cluster the client is an ioredis `Cluster` (`createRedisClient` picks it), which
 * follows MOVED/ASK redirections and refreshes the slot map itself; BullMQ gets one too
 * (`bullConnection`). Keys are laid out with a hash tag per queue (keys.ts).
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { withDeadline } from './deadline.ts';
import type { Logger } from './logger.ts';
import { describeRedisTopology, standaloneTopology, type RedisTls, type RedisTopology } from './redis-topology.ts';

export type RedisMode = 'fail-fast' | 'wait-out';

/** A connection the apps own: one server (standalone or the Sentinels' master) or a Cluster. */
export type RedisClient = Redis | Cluster;

interface RedisConnectionCommon {
  mode: RedisMode;
  /** Shown in CLIENT LIST, e.g. `conveyor:worker`. */
  connectionName?: string;
  /** Longest wait between reconnect attempts, in ms. Default 2,000 (fail-fast) / 5,000 (wait-out). */
  maxReconnectDelayMs?: number;
  /** Connect timeout, in ms. Default 2,000. */
  connectTimeoutMs?: number;
  /**
   * Send the commands issued in one event-loop tick in one write (ioredis `enableAutoPipelining`):
   * many concurrent requests then cost Redis one read per tick instead of one per command. Default false.
   */
  autoPipelining?: boolean;
}

/** Where to connect (the config's `redisTopology`, or a URL for one server) and how. */
export type RedisConnectionSettings = RedisConnectionCommon &
  ({ topology: RedisTopology; url?: never } | { /** redis:// or rediss:// URL of one server. */ url: string; topology?: never });

/** The settings' topology (a `url` is a standalone one). */
export function topologyOf(settings: RedisConnectionSettings): RedisTopology {
  return settings.topology ?? standaloneTopology(settings.url!);
}

/** Parses a redis:// or rediss:// URL into ioredis options. */
export function redisOptionsFromUrl(url: string): RedisOptions {
  return whereOptions(standaloneTopology(url));
}

/**
 * ioredis options narrowed so BullMQ's `ConnectionOptions` accepts them (ioredis also allows
 * `retryStrategy: null`, which BullMQ's type does not).
 */
export type ConveyorRedisOptions = Omit<RedisOptions, 'retryStrategy'> & {
  retryStrategy: (attempt: number) => number;
};

/**
 * ioredis options for the given mode and topology; hand them to BullMQ (which then owns the
 * connection). A cluster topology throws: BullMQ needs a Cluster instance (`bullConnection`).
 */
export function redisConnectionOptions(settings: RedisConnectionSettings): ConveyorRedisOptions {
  const topology = topologyOf(settings);
  if (topology.kind === 'cluster') {
    throw new Error('redisConnectionOptions: a Redis Cluster needs an ioredis Cluster (createRedisClient, bullConnection)');
  }
  return {
    ...whereOptions(topology),
    ...behaviourOptions(settings),
    ...(settings.connectionName ? { connectionName: settings.connectionName } : {}),
  };
}

/** Host, AUTH and TLS of a standalone or Sentinel topology. */
function whereOptions(topology: Exclude<RedisTopology, { kind: 'cluster' }>): RedisOptions {
  const tls = topology.tls ? tlsOptions(topology.tls) : undefined;
  const common: RedisOptions = { ...topology.auth, ...(topology.db !== undefined ? { db: topology.db } : {}), ...(tls ? { tls } : {}) };
  if (topology.kind === 'standalone') return { host: topology.host, port: topology.port, ...common };
  return {
    ...common,
    sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
    name: topology.name,
    role: 'master',
    ...(topology.sentinelAuth.username ? { sentinelUsername: topology.sentinelAuth.username } : {}),
    ...(topology.sentinelAuth.password ? { sentinelPassword: topology.sentinelAuth.password } : {}),
    ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
    // Off on purpose. ioredis 6's detector (a +switch-master subscription) disconnects the
    // connector even while a reconnect is resolving the master; the connect then fails with
    // "Connection is closed", the client flushes its queue and ends for good (seen 1 run in 3
    // of redis-sentinel.test.ts). A demoted master's clients move on READONLY instead.
    failoverDetector: false,
    // All Sentinels unreachable: keep asking, like the data connection keeps reconnecting.
    sentinelRetryStrategy: (attempt: number) => Math.min(100 * attempt, 2_000),
    // A write that reached a demoted master is refused with READONLY (nothing was written):
    // reconnect, which asks the Sentinels again, and resend it to the new master.
    reconnectOnError: (error: Error) => (error.message.startsWith('READONLY') ? 2 : false),
  };
}

/** Offline queue, retries and reconnect delay of a mode. */
function behaviourOptions(settings: RedisConnectionCommon) {
  const failFast = settings.mode === 'fail-fast';
  const maxDelay = settings.maxReconnectDelayMs ?? (failFast ? 2_000 : 5_000);
  return {
    connectTimeout: settings.connectTimeoutMs ?? 2_000,
    enableOfflineQueue: !failFast,
    maxRetriesPerRequest: failFast ? 1 : null,
    ...(settings.autoPipelining ? { enableAutoPipelining: true } : {}),
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 10), maxDelay),
  };
}

function tlsOptions(tls: RedisTls): TlsOptions {
  return {
    ...(tls.ca ? { ca: tls.ca } : {}),
    ...(tls.cert ? { cert: tls.cert } : {}),
    ...(tls.key ? { key: tls.key } : {}),
    ...(tls.servername ? { servername: tls.servername } : {}),
  };
}

/**
 * ioredis Cluster options for a cluster topology in the given mode: the same AUTH, TLS,
 * offline queue and retries on every node connection; slot refreshes reconnect forever.
 */
export function redisClusterOptions(settings: RedisConnectionSettings): { nodes: { host: string; port: number }[]; options: ClusterOptions } {
  const topology = topologyOf(settings);
  if (topology.kind !== 'cluster') throw new Error(`redisClusterOptions needs a cluster topology, got ${topology.kind}`);
  const { retryStrategy, enableOfflineQueue, enableAutoPipelining, ...nodeBehaviour } = behaviourOptions(settings);
  const tls = topology.tls ? tlsOptions(topology.tls) : undefined;
  return {
    nodes: topology.nodes.map(({ host, port }) => ({ host, port })),
    options: {
      enableOfflineQueue,
      ...(enableAutoPipelining ? { enableAutoPipelining } : {}),
      clusterRetryStrategy: retryStrategy,
      // TLS certificates name the host, not the IP CLUSTER SLOTS reports: keep the seed's name.
      ...(tls ? { dnsLookup: (address: string, callback: (error: null, address: string) => void) => callback(null, address) } : {}),
      redisOptions: {
        ...topology.auth,
        ...nodeBehaviour,
        ...(tls ? { tls } : {}),
        ...(settings.connectionName ? { connectionName: settings.connectionName } : {}),
      },
    },
  };
}

/** Logs a connection's first error per outage, and its return. */
function logOutages(client: RedisClient, settings: RedisConnectionSettings, logger: Logger): void {
  let down = false;
  client.on('error', (error: Error) => {
    if (down) return;
    down = true;
    logger.warn({ err: error, redis: settings.connectionName, topology: describeRedisTopology(topologyOf(settings)) }, 'Redis connection error; reconnecting');
  });
  client.on('ready', () => {
    if (down) logger.info({ redis: settings.connectionName }, 'Redis connection restored');
    down = false;
  });
}

/**
 * Opens a connection for the configured topology — a `Redis`, or a `Cluster` for Redis
 * Cluster — that the caller owns and must close (`closeRedis`). Every connection error is
 * logged at most once per outage instead of once per reconnect attempt.
 */
export function createRedisClient(settings: RedisConnectionSettings, logger: Logger): RedisClient {
  return topologyOf(settings).kind === 'cluster' ? createRedisCluster(settings, logger) : createRedis(settings, logger);
}

/**
 * Opens an ioredis client that the caller owns and must `quit()`. Every connection error
 * is logged at most once per outage instead of once per reconnect attempt. A cluster
 * topology throws (use `createRedisClient`).
 */
export function createRedis(settings: RedisConnectionSettings, logger: Logger): Redis {
  const redis = new Redis({ ...redisConnectionOptions(settings), lazyConnect: false });
  logOutages(redis, settings, logger);
  return redis;
}

/**
 * Opens an ioredis Cluster for a cluster topology, with the mode's behaviour; the caller owns
 * it. BullMQ accepts it as `connection` (it does not close it); every BullMQ key of one queue
 * must share a hash slot, which a `{…}` hash tag in the prefix gives.
 */
export function createRedisCluster(settings: RedisConnectionSettings, logger: Logger): Cluster {
  const { nodes, options } = redisClusterOptions(settings);
  const cluster = new Cluster(nodes, options);
  logOutages(cluster, settings, logger);
  return cluster;
}

/**
 * BullMQ's `connection` for a Worker or Queue that should own its connections: ioredis options
 * on a standalone server or Sentinel (BullMQ opens and closes the connection), or on a Cluster
 * a Cluster of its own (BullMQ duplicates it for a worker's blocking connection, but does not
 * close what it was given: call `close()` after the Worker or Queue has closed).
 */
export function bullConnection(
  settings: RedisConnectionSettings,
  logger: Logger,
): { connection: ConveyorRedisOptions | Cluster; close(): Promise<void> } {
  if (topologyOf(settings).kind !== 'cluster') return { connection: redisConnectionOptions(settings), close: async () => {} };
  const cluster = createRedisCluster(settings, logger);
  return { connection: cluster, close: () => closeRedis(cluster, 2_000) };
}

/** True when `redis` is an ioredis Cluster. */
export function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}

/**
 * The connections to run a server-wide command on (INFO, WAIT's replicas): the client
 * itself, or each master of a Cluster.
 */
export function serverConnections(redis: RedisClient): Redis[] {
  return isCluster(redis) ? redis.nodes('master') : [redis];
}

/** A command for `sendTogether`: an ioredis method name and its arguments. */
export type RedisCommand = [name: string, ...args: (string | number)[]];

/**
 * Sends commands that need no atomicity in one go and resolves with their replies in order
 * (rejecting with the first error): one pipeline on a single server, and on a Cluster each
 * command on its own in the same tick, since a pipeline must stay on one shard and these may
 * touch several queues. Replies are shaped as ioredis' methods shape them (HGETALL an object).
 */
export async function sendTogether<T = unknown>(redis: RedisClient, commands: readonly RedisCommand[]): Promise<T[]> {
  if (commands.length === 0) return [];
  if (isCluster(redis)) {
    const methods = redis as unknown as Record<string, (...args: (string | number)[]) => Promise<T>>;
    return Promise.all(commands.map(([name, ...args]) => methods[name]!.apply(redis, args)));
  }
  const results = (await redis.pipeline(commands.map((command) => [...command])).exec()) ?? [];
  return results.map(([error, value]) => {
    if (error) throw error;
    return value as T;
  });
}

/**
 * Redis WAIT: how many replicas have every write this client sent so far, waiting up to
 * `timeoutMs` for `replicas` of them. On a Cluster a write went to the master of its key's
 * shard over that master's own connection, so every master is asked and the smallest count
 * is the answer (a master this client wrote nothing to answers at once).
 */
export async function waitForReplicas(redis: RedisClient, replicas: number, timeoutMs: number): Promise<number> {
  const counts = await Promise.all(serverConnections(redis).map((node) => node.wait(replicas, timeoutMs)));
  return counts.length === 0 ? 0 : Math.min(...counts);
}

/** True when the client can take a command now (connected and ready). */
export function isRedisReady(redis: RedisClient): boolean {
  return redis.status === 'ready';
}

/**
 * Closes a client `main.ts` opened: QUIT when it is ready (bounded by `quitTimeoutMs`), then
 * drops the socket either way so it stops reconnecting. A QUIT that fails or times out
 * rejects, after the socket is dropped.
 */
export async function closeRedis(redis: RedisClient, quitTimeoutMs: number): Promise<void> {
  try {
    if (isRedisReady(redis)) await withDeadline(redis.quit(), quitTimeoutMs, 'Redis QUIT');
  } finally {
    redis.disconnect();
  }
}

/** Redis is run in a way that can lose jobs, and the operator did not accept it. */
export class RedisSettingsError extends Error {
  override readonly name = 'RedisSettingsError';
}

export interface RedisSettingsCheckOptions {
  /** Start anyway when the eviction policy is not `noeviction` or cannot be read (REDIS_ALLOW_EVICTION). Default false. */
  allowEviction?: boolean;
  /** Bound on the INFO call, in ms. Default 2,000. */
  timeoutMs?: number;
}

/**
 * The start-up gate on how Redis is run. `maxmemory-policy` other than `noeviction` (an
 * evicted job key is a lost job) throws a RedisSettingsError unless `allowEviction`, which
 * turns it into a warning; AOF off (a restart loses acknowledged jobs) and a policy that
 * INFO does not show (some managed services) are warnings. Reads INFO rather than CONFIG
 * GET so it also works under a least-privilege ACL. On a Cluster every master is read, and
 * the worst of them decides. Resolves with the warnings it logged.
 */
export async function checkRedisSettings(
  redis: RedisClient,
  logger: Logger,
  options: RedisSettingsCheckOptions = {},
): Promise<string[]> {
  const { allowEviction = false, timeoutMs = 2_000 } = options;
  const warnings: string[] = [];
  const infos = await withDeadline(Promise.all(serverConnections(redis).map((node) => node.info())), timeoutMs, 'Redis INFO');
  // A policy or AOF setting that differs between masters shows as the first one that is unsafe.
  const info = infos.find((text) => !/^maxmemory_policy:noeviction\s*$/m.test(text)) ?? infos.find((text) => /^aof_enabled:0\s*$/m.test(text)) ?? infos[0] ?? '';
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  const policy = field('maxmemory_policy');
  if (policy === undefined) {
    warnings.push(
      'Redis INFO does not show maxmemory-policy; make sure it is "noeviction", or jobs may be evicted',
    );
  } else if (policy !== 'noeviction') {
    const problem = `Redis maxmemory-policy is "${policy}", so Redis may evict job keys under memory pressure and lose jobs`;
    if (!allowEviction) {
      throw new RedisSettingsError(
        `Refusing to start: ${problem}. Set it with \`CONFIG SET maxmemory-policy noeviction\` ` +
          '(and in redis.conf), or set REDIS_ALLOW_EVICTION=true to run anyway (managed services that forbid it).',
      );
    }
    warnings.push(`${problem} (allowed by REDIS_ALLOW_EVICTION=true)`);
  }
  if (field('aof_enabled') === '0') {
    warnings.push('Redis AOF is off; acknowledged jobs may be lost if Redis restarts (appendonly yes)');
  }
  for (const warning of warnings) logger.warn(warning);
  return warnings;
}

/**
 * Runs `checkRedisSettings` once, when `redis` is first ready (at once if it already is).
 * A refusal goes to `onRefused`, which should print it and exit; any other failure (INFO
 * timed out, the connection dropped) is logged as a warning and start-up goes on.
 * Resolves with the outcome, for tests and for callers that wait for the gate.
 */
export function checkRedisSettingsWhenReady(
  redis: RedisClient,
  logger: Logger,
  options: RedisSettingsCheckOptions & { onRefused: (error: RedisSettingsError) => void },
): Promise<'passed' | 'refused' | 'unchecked'> {
  const { onRefused, ...checkOptions } = options;
  const check = () =>
    checkRedisSettings(redis, logger, checkOptions).then(
      () => 'passed' as const,
      (error: unknown) => {
        if (error instanceof RedisSettingsError) {
          onRefused(error);
          return 'refused' as const;
        }
        logger.warn({ err: error }, 'could not check the Redis settings; starting anyway');
        return 'unchecked' as const;
      },
    );
  if (isRedisReady(redis)) return check();
  return new Promise((resolve) => redis.once('ready', () => resolve(check())));
}

/** Resolves when the client is ready; rejects after `timeoutMs` (the client keeps trying). */
export function whenRedisReady(redis: RedisClient, timeoutMs: number): Promise<void> {
  if (isRedisReady(redis)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis was not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}
