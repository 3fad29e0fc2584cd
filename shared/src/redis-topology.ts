/**
 * Where Redis is and how to reach it: one value every app builds from its environment
 * (config.ts) and hands to the connection factory (redis.ts), which turns it into ioredis
 * options. Three shapes:
 * - `standalone`: one server, from REDIS_URL (redis:// or rediss://).
 * - `sentinel`: a master group watched by Sentinels (REDIS_SENTINELS + REDIS_SENTINEL_NAME);
 *   clients ask a Sentinel for the master and follow a failover to the promoted replica.
 * - `cluster`: Redis Cluster, from its seed nodes (REDIS_CLUSTER_NODES).
 * Every shape carries the same ACL user/password and TLS settings. `describeRedisTopology`
 * names a topology for logs without its secrets.
 */

/** A host and TCP port of a Sentinel or cluster node. */
export interface RedisEndpoint {
  host: string;
  port: number;
}

/** An ACL user and its password (AUTH); both optional (no AUTH, or `requirepass` alone). */
export interface RedisAuth {
  username?: string;
  password?: string;
}

/** TLS to Redis: PEM text of the CA, client certificate and key, and the name to verify. */
export interface RedisTls {
  /** CA certificate(s) that signed the server's certificate. Default: Node's trusted roots. */
  ca?: string;
  /** Client certificate, for servers that require one (`tls-auth-clients yes`). */
  cert?: string;
  /** Client private key, with `cert`. */
  key?: string;
  /** The name the server certificate must carry. Default: the host connected to. */
  servername?: string;
}

interface TopologyCommon {
  /** AUTH of the data nodes (the master, replicas and cluster nodes). */
  auth: RedisAuth;
  /** TLS settings; undefined means plain TCP. */
  tls?: RedisTls;
}

export interface StandaloneTopology extends TopologyCommon {
  kind: 'standalone';
  host: string;
  port: number;
  /** Database number. Default 0. */
  db?: number;
}

export interface SentinelTopology extends TopologyCommon {
  kind: 'sentinel';
  sentinels: RedisEndpoint[];
  /** The master group name the Sentinels monitor (`sentinel monitor <name> …`). */
  name: string;
  /** AUTH of the Sentinels themselves, which may differ from the data nodes'. */
  sentinelAuth: RedisAuth;
  db?: number;
}

export interface ClusterTopology extends TopologyCommon {
  kind: 'cluster';
  /** Seed nodes; the client discovers the rest (CLUSTER SLOTS). */
  nodes: RedisEndpoint[];
}

export type RedisTopology = StandaloneTopology | SentinelTopology | ClusterTopology;

/** REDIS_URL's default when no topology variable is set. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** A problem with one variable, for ConfigError. */
export interface TopologyProblem {
  variable: string;
  message: string;
  /** The variable's own schema reports this one already (a malformed REDIS_URL). */
  fieldLevel?: true;
}

/** The Redis variables as the config schema parsed them one by one (files already read). */
export interface RedisTopologyEnv {
  REDIS_URL?: string | undefined;
  REDIS_SENTINELS?: RedisEndpoint[] | undefined;
  REDIS_SENTINEL_NAME?: string | undefined;
  REDIS_CLUSTER_NODES?: RedisEndpoint[] | undefined;
  REDIS_USERNAME?: string | undefined;
  REDIS_PASSWORD?: string | undefined;
  REDIS_SENTINEL_USERNAME?: string | undefined;
  REDIS_SENTINEL_PASSWORD?: string | undefined;
  REDIS_TLS?: boolean | undefined;
  REDIS_TLS_CA_FILE?: { path: string; text: string } | undefined;
  REDIS_TLS_CERT_FILE?: { path: string; text: string } | undefined;
  REDIS_TLS_KEY_FILE?: { path: string; text: string } | undefined;
  REDIS_TLS_SERVERNAME?: string | undefined;
}

/**
 * Parses `host:port,host:port` (IPv6 as `[::1]:26379`); a missing port is `defaultPort`.
 * Throws an Error naming the bad entry.
 */
export function parseRedisEndpoints(text: string, defaultPort: number): RedisEndpoint[] {
  const items = text.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
  if (items.length === 0) throw new Error('expected at least one host:port');
  return items.map((item) => {
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]/]+))(?::(\d{1,5}))?$/.exec(item);
    const port = match?.[3] === undefined ? defaultPort : Number(match[3]);
    if (!match || port < 1 || port > 65_535) throw new Error(`"${item}" is not host:port (e.g. 10.0.0.5:26379 or [::1]:26379)`);
    return { host: (match[1] ?? match[2])!, port };
  });
}

/**
 * The topology the variables describe, or every problem with them: conflicting topologies,
 * a Sentinel set without its master name, credentials given twice, TLS files without TLS.
 */
export function redisTopologyFromEnv(env: RedisTopologyEnv): { topology: RedisTopology; problems?: undefined } | { topology?: undefined; problems: TopologyProblem[] } {
  const problems: TopologyProblem[] = [];
  const set = (value: unknown) => value !== undefined && value !== '';
  if (set(env.REDIS_SENTINELS) && set(env.REDIS_CLUSTER_NODES)) {
    problems.push({ variable: 'REDIS_CLUSTER_NODES', message: 'set either REDIS_SENTINELS (Sentinel) or REDIS_CLUSTER_NODES (Cluster), not both' });
  }
  for (const other of ['REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const) {
    if (set(env.REDIS_URL) && set(env[other])) {
      problems.push({ variable: 'REDIS_URL', message: `set either REDIS_URL (one server) or ${other}, not both` });
    }
  }
  if (set(env.REDIS_SENTINELS) && !set(env.REDIS_SENTINEL_NAME)) {
    problems.push({ variable: 'REDIS_SENTINEL_NAME', message: 'required with REDIS_SENTINELS: the master group name the Sentinels monitor (e.g. conveyor)' });
  }
  if (!set(env.REDIS_SENTINELS)) {
    for (const variable of ['REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_USERNAME', 'REDIS_SENTINEL_PASSWORD'] as const) {
      if (set(env[variable])) problems.push({ variable, message: 'only means something with REDIS_SENTINELS' });
    }
  }
  if (set(env.REDIS_USERNAME) && !set(env.REDIS_PASSWORD)) {
    problems.push({ variable: 'REDIS_PASSWORD', message: 'required with REDIS_USERNAME (the ACL user\'s password)' });
  }
  if (set(env.REDIS_SENTINEL_USERNAME) && !set(env.REDIS_SENTINEL_PASSWORD)) {
    problems.push({ variable: 'REDIS_SENTINEL_PASSWORD', message: 'required with REDIS_SENTINEL_USERNAME' });
  }

  const url = set(env.REDIS_URL) && URL.canParse(env.REDIS_URL!) ? new URL(env.REDIS_URL!) : undefined;
  if (url && (url.username || url.password)) {
    for (const variable of ['REDIS_USERNAME', 'REDIS_PASSWORD'] as const) {
      if (set(env[variable])) problems.push({ variable, message: 'REDIS_URL carries credentials already; give them in one place' });
    }
  }
  const tlsOn = env.REDIS_TLS === true || url?.protocol === 'rediss:';
  if (!tlsOn) {
    for (const variable of ['REDIS_TLS_CA_FILE', 'REDIS_TLS_CERT_FILE', 'REDIS_TLS_KEY_FILE', 'REDIS_TLS_SERVERNAME'] as const) {
      if (set(env[variable])) problems.push({ variable, message: 'TLS is off: set REDIS_TLS=true (or use a rediss:// REDIS_URL)' });
    }
  }
  if (set(env.REDIS_TLS_CERT_FILE) !== set(env.REDIS_TLS_KEY_FILE)) {
    const missing = set(env.REDIS_TLS_CERT_FILE) ? 'REDIS_TLS_KEY_FILE' : 'REDIS_TLS_CERT_FILE';
    problems.push({ variable: missing, message: 'a client certificate needs both REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE' });
  }
  if (problems.length > 0) return { problems };

  const envAuth = compact({ username: env.REDIS_USERNAME, password: env.REDIS_PASSWORD });
  const tls = tlsOn
    ? compact({
        ca: env.REDIS_TLS_CA_FILE?.text,
        cert: env.REDIS_TLS_CERT_FILE?.text,
        key: env.REDIS_TLS_KEY_FILE?.text,
        servername: env.REDIS_TLS_SERVERNAME,
      })
    : undefined;
  const common = { auth: envAuth, ...(tls ? { tls } : {}) };

  if (env.REDIS_SENTINELS) {
    return {
      topology: {
        kind: 'sentinel',
        sentinels: env.REDIS_SENTINELS,
        name: env.REDIS_SENTINEL_NAME!,
        sentinelAuth: compact({ username: env.REDIS_SENTINEL_USERNAME, password: env.REDIS_SENTINEL_PASSWORD }),
        ...common,
      },
    };
  }
  if (env.REDIS_CLUSTER_NODES) return { topology: { kind: 'cluster', nodes: env.REDIS_CLUSTER_NODES, ...common } };
  let standalone: StandaloneTopology;
  try {
    standalone = standaloneTopology(env.REDIS_URL ?? DEFAULT_REDIS_URL);
  } catch (error) {
    return { problems: [{ variable: 'REDIS_URL', message: (error as Error).message, fieldLevel: true }] };
  }
  return {
    topology: {
      ...standalone,
      auth: { ...standalone.auth, ...envAuth },
      ...(tls ? { tls: { ...standalone.tls, ...tls } } : {}),
    },
  };
}

/** A standalone topology from a redis:// or rediss:// URL (user, password, database, TLS). */
export function standaloneTopology(url: string): StandaloneTopology {
  const parsed = new URL(url);
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`unsupported Redis URL scheme "${parsed.protocol}" (use redis:// or rediss://)`);
  }
  const db = parsed.pathname.replace(/^\//, '');
  if (db && !/^\d+$/.test(db)) throw new Error(`Redis URL database must be a number, got "${db}"`);
  const host = parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  return {
    kind: 'standalone',
    host,
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(db ? { db: Number(db) } : {}),
    auth: compact({
      username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
      password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    }),
    ...(parsed.protocol === 'rediss:' ? { tls: { servername: host } } : {}),
  };
}

/**
 * One line for logs: kind, addresses, user, TLS; never a password, key or certificate.
 * `sentinel "conveyor" via 10.0.0.1:26379,10.0.0.2:26379 as producer, TLS`.
 */
export function describeRedisTopology(topology: RedisTopology): string {
  const list = (endpoints: RedisEndpoint[]) => endpoints.map(formatEndpoint).join(',');
  const where =
    topology.kind === 'standalone'
      ? `standalone ${formatEndpoint(topology)}${topology.db ? `/${topology.db}` : ''}`
      : topology.kind === 'sentinel'
        ? `sentinel "${topology.name}" via ${list(topology.sentinels)}`
        : `cluster via ${list(topology.nodes)}`;
  const user = topology.auth.username ? ` as ${topology.auth.username}` : topology.auth.password ? ' with a password' : '';
  const tls = topology.tls ? `, TLS${topology.tls.ca ? ' (own CA)' : ''}${topology.tls.cert ? ' + client certificate' : ''}` : '';
  return `${where}${user}${tls}`;
}

function formatEndpoint(endpoint: RedisEndpoint): string {
  return endpoint.host.includes(':') ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
}

/** The object without its undefined fields (exactOptionalPropertyTypes-friendly). */
function compact<T extends Record<string, string | undefined>>(object: T): { [K in keyof T]?: string } {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined && value !== '')) as { [K in keyof T]?: string };
}
