/**
 * Validates docker-compose.yml and the Dockerfile without a Docker engine: the services, their
 * ports, environment, healthchecks and start order, and that every build names a stage that
 * exists. When a `docker-compose` (v1) or `docker compose` (v2) binary is present, it also runs
 * `config -q`, which checks the file against Compose's own schema (no engine needed).
 *
 * docker-compose.sentinel.yml, the Sentinel variant, is an override of docker-compose.yml: its
 * tests merge the two the way Compose does and check the result, down to the apps' environment
 * passing the real config schema as a Sentinel topology. docker-compose.cluster.yml, the Redis
 * Cluster variant, gets the same treatment, and its node command line is run by a real
 * redis-server here to show its flags are ones Redis accepts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it, type TestContext } from 'vitest';
import { Redis } from 'ioredis';
import { ConfigError, baseEnvSchema, loadConfig, redisTopologyOf } from '@conveyor/shared';
import { startRedisServer } from '@conveyor/shared/testing';

const root = fileURLToPath(new URL('../../', import.meta.url));
const composePath = join(root, 'docker-compose.yml');
const sentinelComposePath = join(root, 'docker-compose.sentinel.yml');
const clusterComposePath = join(root, 'docker-compose.cluster.yml');
const apps = ['producer', 'worker', 'dashboard'] as const;

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; target?: string };
  command?: string | string[];
  environment?: Record<string, string | number | null> | string[];
  ports?: (string | number | { target: number; published?: number | string })[];
  container_name?: string;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  depends_on?: string[] | Record<string, { condition?: string }>;
  restart?: string;
  stop_grace_period?: string;
  volumes?: (string | { type?: string; source?: string; target: string })[];
}

const compose = parse(readFileSync(composePath, 'utf8')) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const service = (name: string): Service => {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
};

function environmentOf(svc: Service): Record<string, string> {
  if (Array.isArray(svc.environment)) {
    return Object.fromEntries(svc.environment.map((entry) => {
      const at = entry.indexOf('=');
      return at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
    }));
  }
  return Object.fromEntries(Object.entries(svc.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** Container ports published on the host, short or long syntax. */
function publishedTargets(svc: Service): number[] {
  return (svc.ports ?? []).flatMap((port) => {
    if (typeof port === 'object') return port.published === undefined ? [] : [Number(port.target)];
    const parts = String(port).replace(/\/(tcp|udp)$/, '').split(':');
    return parts.length >= 2 ? [Number(parts.at(-1))] : [];
  });
}

/** Compose durations such as `45s`, `1m30s`, `500ms`, in ms. */
function durationMs(text: string): number {
  const units: Record<string, number> = { us: 0.001, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(us|ms|s|m|h)/g)) total += Number(amount) * units[unit!]!;
  return total;
}

function dockerfileStages(path: string): string[] {
  return [...readFileSync(path, 'utf8').matchAll(/^FROM\s+\S+\s+AS\s+(\S+)\s*$/gim)].map((m) => m[1]!.toLowerCase());
}

/** A compose binary that can at least print its version, or undefined. */
function findComposeBinary(): { command: string; args: string[] } | undefined {
  const candidates = [
    { command: 'docker-compose', args: [] },
    { command: 'docker', args: ['compose'] },
  ];
  return candidates.find(({ command, args }) => {
    const probe = spawnSync(command, [...args, 'version'], { encoding: 'utf8', timeout: 20_000 });
    return probe.status === 0;
  });
}

/** `config -q` over the files, merged in order, as `-f a -f b config -q`. */
function composeConfigQuiet(binary: { command: string; args: string[] }, files: string[]) {
  // A shell REDIS_URL would fill the Sentinel override's value-less REDIS_URL; keep it out.
  const env = { ...process.env };
  delete env.REDIS_URL;
  return spawnSync(binary.command, [...binary.args, ...files.flatMap((file) => ['-f', file]), 'config', '-q'], {
    cwd: root,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/** `config -q` over `files` passes; skipped, saying why, when no compose binary is installed. */
function expectComposeConfigValid(context: TestContext, files: string[]): void {
  const binary = findComposeBinary();
  if (!binary) {
    context.skip('neither `docker-compose` nor `docker compose` is installed (apt-get install -y docker-compose)');
    return;
  }
  const result = composeConfigQuiet(binary, files);
  expect(result.error).toBeUndefined();
  const command = [binary.command, ...binary.args, ...files.flatMap((file) => ['-f', basename(file)]), 'config', '-q'].join(' ');
  expect(result.status, `${command}:\n${result.stderr}`).toBe(0);
}

/** An override file of docker-compose.yml, and the two merged as Compose merges them. */
function withOverride(path: string) {
  // YAML merge keys (`<<: *anchor`) on, for docker-compose.cluster.yml's shared node definition.
  const override = parse(readFileSync(path, 'utf8'), { merge: true }) as typeof compose;
  const merged = mergeCompose(compose, override);
  const mergedService = (name: string): Service => {
    const found = merged.services[name];
    if (!found) throw new Error(`the merged compose files have no service "${name}"`);
    return found;
  };
  return { override, merged, mergedService };
}

describe('docker-compose.yml', () => {
  it('has the four services: redis, producer, worker, dashboard', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['dashboard', 'producer', 'redis', 'worker']);
  });

  it('runs Redis 7 with AOF on, noeviction, a volume and a redis-cli healthcheck', () => {
    const redis = service('redis');
    expect(redis.image).toMatch(/^redis:7/);
    const command = Array.isArray(redis.command) ? redis.command.join(' ') : (redis.command ?? '');
    expect(command).toMatch(/--appendonly\s+yes\b/);
    expect(command).toMatch(/--maxmemory-policy\s+noeviction\b/);
    const mounts = (redis.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
    const dataMount = mounts.find((m) => m.split(':')[1] === '/data');
    expect(dataMount, 'a volume on /data').toBeTruthy();
    expect(Object.keys(compose.volumes ?? {})).toContain(dataMount!.split(':')[0]);
    expect([redis.healthcheck?.test].flat().join(' ')).toContain('redis-cli ping');
  });

  it('publishes the producer on 3000 and the dashboard on 3001', () => {
    expect(publishedTargets(service('producer'))).toEqual([3000]);
    expect(publishedTargets(service('dashboard'))).toEqual([3001]);
  });

  it('leaves the worker scalable: no published port, no container_name', () => {
    const worker = service('worker');
    expect(worker.ports ?? []).toEqual([]);
    expect(worker.container_name).toBeUndefined();
    for (const name of Object.keys(compose.services)) expect(service(name).container_name, name).toBeUndefined();
  });

  it('gives the producer API keys, overridable from the shell: on 0.0.0.0 without keys it would bind loopback only', () => {
    const keys = environmentOf(service('producer')).PRODUCER_API_KEYS;
    expect(keys).toMatch(/^\$\{PRODUCER_API_KEYS:-[^}]+\}$/);
  });

  it('points every app at the redis service and binds it to all interfaces', () => {
    for (const app of apps) {
      const env = environmentOf(service(app));
      expect(env.REDIS_URL, app).toBe('redis://redis:6379');
      expect(env.HOST, app).toBe('0.0.0.0');
    }
  });

  it('gives every service a healthcheck; the apps probe their own /healthz with node', () => {
    for (const name of Object.keys(compose.services)) {
      const check = service(name).healthcheck;
      expect(check?.disable, name).not.toBe(true);
      expect([check?.test].flat().filter(Boolean).length, name).toBeGreaterThan(1);
    }
    const ports = { producer: 3000, worker: 3002, dashboard: 3001 } as const;
    for (const app of apps) {
      const test = [service(app).healthcheck?.test].flat().join(' ');
      expect(test, app).toContain('node');
      expect(test, app).toContain(`http://127.0.0.1:${ports[app]}/healthz`);
    }
  });

  it('starts every app only once Redis is healthy, and restarts them unless stopped', () => {
    for (const app of apps) {
      const dependsOn = service(app).depends_on;
      expect(Array.isArray(dependsOn), `${app} depends_on must be the long form`).toBe(false);
      expect((dependsOn as Record<string, { condition?: string }>).redis?.condition, app).toBe('service_healthy');
      expect(service(app).restart, app).toBe('unless-stopped');
    }
  });

  it("gives the worker a stop grace period longer than its SHUTDOWN_TIMEOUT_MS", () => {
    const worker = service('worker');
    const shutdownTimeoutMs = Number(environmentOf(worker).SHUTDOWN_TIMEOUT_MS ?? 30_000);
    expect(worker.stop_grace_period, 'stop_grace_period').toBeTruthy();
    expect(durationMs(worker.stop_grace_period!)).toBeGreaterThan(shutdownTimeoutMs);
  });

  it('builds every app from the root Dockerfile, naming stages that exist', () => {
    for (const name of Object.keys(compose.services)) {
      const { build } = service(name);
      if (build === undefined) continue;
      const spec = typeof build === 'string' ? { context: build } : build;
      const context = resolve(root, spec.context ?? '.');
      expect(context, name).toBe(resolve(root));
      const dockerfile = join(context, spec.dockerfile ?? 'Dockerfile');
      expect(existsSync(dockerfile), `${name}: ${dockerfile}`).toBe(true);
      if (spec.target) expect(dockerfileStages(dockerfile), name).toContain(spec.target);
    }
    for (const app of apps) expect(service(app).build, app).toBeDefined();
  });

  it('passes `docker-compose config -q` when a compose binary is installed', (context) => expectComposeConfigValid(context, [composePath]));
});

type Environment = Record<string, string | null>;

/** A service's environment as written, list or mapping form; a key without a value is null. */
function rawEnvironmentOf(svc: Service): Environment {
  if (Array.isArray(svc.environment)) {
    return Object.fromEntries(svc.environment.map((entry) => {
      const at = entry.indexOf('=');
      return at < 0 ? [entry, null] : [entry.slice(0, at), entry.slice(at + 1)];
    }));
  }
  return Object.fromEntries(Object.entries(svc.environment ?? {}).map(([k, v]) => [k, v === null ? null : String(v)]));
}

/**
 * `docker compose -f base -f override`, for the keys these tests read: services and top-level
 * volumes merge by name; in a service, `environment` and `depends_on` merge key by key (the
 * override's value wins, a null included) and every other key the override sets replaces the
 * base's (true of command, image, healthcheck's test; Compose concatenates a few lists such as
 * ports, which the override here does not set).
 */
function mergeCompose(base: typeof compose, override: typeof compose): typeof compose {
  const services: Record<string, Service> = { ...base.services };
  for (const [name, over] of Object.entries(override.services)) {
    const under = services[name];
    if (!under) {
      services[name] = over;
      continue;
    }
    const merged: Service = { ...under, ...over };
    if (over.environment !== undefined) merged.environment = { ...rawEnvironmentOf(under), ...rawEnvironmentOf(over) };
    if (over.depends_on !== undefined) merged.depends_on = { ...dependsOnOf(under), ...dependsOnOf(over) };
    services[name] = merged;
  }
  return { services, volumes: { ...base.volumes, ...override.volumes } };
}

function dependsOnOf(svc: Service): Record<string, { condition?: string }> {
  const dependsOn: string[] | Record<string, { condition?: string }> = svc.depends_on ?? {};
  return Array.isArray(dependsOn) ? Object.fromEntries(dependsOn.map((name) => [name, { condition: 'service_started' }])) : dependsOn;
}

/**
 * The environment a container gets, as Compose builds it from `shell`: `${VAR:-default}` and
 * `${VAR}` interpolated, `$$` an escaped `$`, and a key without a value taken from the shell,
 * or left out of the container when the shell does not set it.
 */
function containerEnvironment(svc: Service, shell: Record<string, string> = {}): Record<string, string> {
  const interpolate = (text: string) =>
    text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (whole, name: string | undefined, op: string | undefined, fallback: string | undefined) => {
      if (whole === '$$') return '$';
      const value = shell[name!];
      if (op === ':-') return value ? value : fallback!;
      if (op === '-') return value ?? fallback!;
      return value ?? '';
    });
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(rawEnvironmentOf(svc))) {
    if (value !== null) env[key] = interpolate(value);
    else if (shell[key] !== undefined) env[key] = shell[key]!;
  }
  return env;
}

function commandOf(svc: Service): string {
  return Array.isArray(svc.command) ? svc.command.join(' ') : (svc.command ?? '');
}

/** The lines a Sentinel's command writes into its sentinel.conf: the quoted printf arguments. */
function sentinelConfLines(svc: Service): string[] {
  const script = Array.isArray(svc.command) ? svc.command.at(-1)! : (svc.command ?? '');
  const printf = /printf\s+'%s\\n'((?:\s+'[^']*')+)\s*>\s*(\S+)/.exec(script);
  if (!printf) throw new Error(`no printf '%s\\n' '…' > file in: ${script}`);
  return [...printf[1]!.matchAll(/'([^']*)'/g)].map((m) => m[1]!);
}

describe('docker-compose.sentinel.yml (the Sentinel override)', () => {
  const { override, merged, mergedService } = withOverride(sentinelComposePath);
  const sentinels = Object.keys(merged.services).filter((name) => /^sentinel-\d+$/.test(name)).sort();
  const monitor = (name: string) => {
    const line = sentinelConfLines(mergedService(name)).find((l) => l.startsWith('sentinel monitor '));
    const match = /^sentinel monitor (\S+) (\S+) (\d+) (\d+)$/.exec(line ?? '');
    if (!match) throw new Error(`${name}: no "sentinel monitor <name> <host> <port> <quorum>" line`);
    return { name: match[1]!, host: match[2]!, port: Number(match[3]), quorum: Number(match[4]) };
  };

  it('adds exactly a replica and three Sentinels to the four services', () => {
    const added = Object.keys(override.services).filter((name) => !(name in compose.services)).sort();
    expect(added).toEqual(['redis-replica', 'sentinel-1', 'sentinel-2', 'sentinel-3']);
    expect(sentinels).toEqual(['sentinel-1', 'sentinel-2', 'sentinel-3']);
  });

  it('runs each Sentinel on redis:7 from a config it writes itself at start, monitoring redis:6379 with quorum 2', () => {
    for (const name of sentinels) {
      const sentinel = mergedService(name);
      expect(sentinel.image, name).toMatch(/^redis:7/);
      // Sentinel rewrites its config: written into the container at start, never a shared mount.
      const script = commandOf(sentinel);
      expect(script, name).toMatch(/>\s*\/data\/sentinel\.conf\s*&&\s*exec\s+(docker-entrypoint\.sh\s+)?redis-server\s+\/data\/sentinel\.conf\s+--sentinel\s*$/);
      expect(sentinel.volumes ?? [], `${name} mounts nothing`).toEqual([]);

      const lines = sentinelConfLines(sentinel);
      expect(lines, name).toContain('port 26379');
      expect(lines, name).toContain('sentinel resolve-hostnames yes');
      expect(lines, name).toContain('sentinel announce-hostnames yes');
      // Hostnames only resolve when the option comes before the monitor line that uses one.
      expect(lines.indexOf('sentinel resolve-hostnames yes'), name).toBeLessThan(lines.findIndex((l) => l.startsWith('sentinel monitor ')));
      expect(monitor(name), name).toEqual({ name: 'conveyor', host: 'redis', port: 6379, quorum: 2 });
      const setting = (key: string) => Number(new RegExp(`^sentinel ${key} conveyor (\\d+)$`).exec(lines.find((l) => l.startsWith(`sentinel ${key} `)) ?? '')?.[1]);
      expect(setting('down-after-milliseconds'), name).toBeGreaterThanOrEqual(1_000);
      expect(setting('down-after-milliseconds'), name).toBeLessThanOrEqual(30_000);
      expect(setting('failover-timeout'), name).toBeGreaterThan(setting('down-after-milliseconds'));
    }
    // A majority of the Sentinels, so that a partitioned minority cannot fail over on its own.
    expect(monitor('sentinel-1').quorum).toBeGreaterThan(sentinels.length / 2);
    expect(monitor('sentinel-1').quorum).toBeLessThanOrEqual(sentinels.length);
  });

  it('health-checks each Sentinel on 26379 and starts it once the master is healthy', () => {
    for (const name of sentinels) {
      const sentinel = mergedService(name);
      expect([sentinel.healthcheck?.test].flat().join(' '), name).toMatch(/^CMD(-SHELL)? redis-cli -p 26379 ping$/);
      expect(dependsOnOf(sentinel).redis?.condition, name).toBe('service_healthy');
      expect(sentinel.restart, name).toBe('unless-stopped');
      expect(sentinel.container_name, name).toBeUndefined();
    }
  });

  it('replicates the monitored master with its persistence and eviction flags, on a volume of its own', () => {
    const replica = mergedService('redis-replica');
    const { host, port } = monitor('sentinel-1');
    expect(replica.image).toMatch(/^redis:7/);
    const command = commandOf(replica);
    expect(command).toMatch(new RegExp(`--replicaof\\s+${host}\\s+${port}\\b`));
    expect(command).toMatch(/--appendonly\s+yes\b/);
    expect(command).toMatch(/--maxmemory-policy\s+noeviction\b/);
    // It becomes the master on failover: the same fsync policy as the master's.
    const fsync = (text: string) => /--appendfsync\s+(\S+)/.exec(text)?.[1];
    expect(fsync(command)).toBe(fsync(commandOf(mergedService('redis'))));
    expect(command).toMatch(/--replica-announce-ip\s+redis-replica\b/);
    expect([replica.healthcheck?.test].flat().join(' ')).toContain('redis-cli ping');
    expect(dependsOnOf(replica).redis?.condition).toBe('service_healthy');

    const dataVolume = (svc: Service) =>
      (svc.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`)).find((m) => m.split(':')[1] === '/data')?.split(':')[0];
    expect(dataVolume(replica), 'a volume on /data').toBeTruthy();
    expect(dataVolume(replica)).not.toBe(dataVolume(mergedService('redis')));
    expect(Object.keys(merged.volumes ?? {})).toContain(dataVolume(replica));
  });

  it("keeps the master's AOF and noeviction, though the override replaces its command", () => {
    const command = commandOf(mergedService('redis'));
    expect(command).toMatch(/^redis-server\b/);
    expect(command).toMatch(/--appendonly\s+yes\b/);
    expect(command).toMatch(/--maxmemory-policy\s+noeviction\b/);
    expect(command).not.toMatch(/--replicaof/);
    expect(command).toMatch(/--replica-announce-ip\s+redis\b/);
  });

  it('points every app at all three Sentinels and the monitored name, with no REDIS_URL in its container', () => {
    for (const app of apps) {
      const env = containerEnvironment(mergedService(app));
      expect(env.REDIS_SENTINELS?.split(',').sort(), app).toEqual(sentinels.map((name) => `${name}:26379`));
      expect(env.REDIS_SENTINEL_NAME, app).toBe(monitor('sentinel-1').name);
      expect(Object.keys(env), app).not.toContain('REDIS_URL');
      // REDIS_URL must be value-less (null), not "": the apps reject an empty REDIS_URL.
      expect(rawEnvironmentOf(mergedService(app)).REDIS_URL, app).toBeNull();
      // The rest of the base environment still applies.
      expect(env.HOST, app).toBe('0.0.0.0');
      expect(env.CONVEYOR_PREFIX, app).toBe(environmentOf(service(app)).CONVEYOR_PREFIX);
    }
    expect(containerEnvironment(mergedService('producer')).PRODUCER_API_KEYS).toBe('dev=conveyor-dev-only-insecure-key:admin');
  });

  it("gives every app an environment the apps' own config parses as this Sentinel set", () => {
    for (const app of apps) {
      const topology = redisTopologyOf(loadConfig(baseEnvSchema, containerEnvironment(mergedService(app))));
      expect(topology.kind, app).toBe('sentinel');
      if (topology.kind !== 'sentinel') continue;
      expect(topology.name, app).toBe('conveyor');
      expect(topology.sentinels.map(({ host, port }) => `${host}:${port}`).sort(), app).toEqual(sentinels.map((name) => `${name}:26379`));
    }
    // Why REDIS_URL is value-less rather than "": an empty one is a config error…
    const env = containerEnvironment(mergedService('producer'));
    expect(() => loadConfig(baseEnvSchema, { ...env, REDIS_URL: '' })).toThrow(ConfigError);
    // …and a REDIS_URL exported in the shell that runs compose reaches the apps, which refuse it.
    const fromShell = containerEnvironment(mergedService('producer'), { REDIS_URL: 'redis://redis:6379' });
    expect(fromShell.REDIS_URL).toBe('redis://redis:6379');
    expect(() => redisTopologyOf(loadConfig(baseEnvSchema, fromShell))).toThrow(/REDIS_URL.*not both/s);
  });

  it('starts every app only once the master and all three Sentinels are healthy', () => {
    for (const app of apps) {
      const dependsOn = dependsOnOf(mergedService(app));
      for (const name of ['redis', ...sentinels]) expect(dependsOn[name]?.condition, `${app} → ${name}`).toBe('service_healthy');
      expect(mergedService(app).restart, app).toBe('unless-stopped');
    }
  });

  it('leaves the apps as the base file builds and publishes them', () => {
    for (const app of apps) {
      expect(override.services[app]?.build, app).toBeUndefined();
      expect(override.services[app]?.ports, app).toBeUndefined();
      expect(override.services[app]?.command, app).toBeUndefined();
      expect(mergedService(app).healthcheck, app).toEqual(service(app).healthcheck);
    }
    for (const name of Object.keys(merged.services)) expect(mergedService(name).container_name, name).toBeUndefined();
  });

  it('passes `docker-compose -f docker-compose.yml -f docker-compose.sentinel.yml config -q` when a compose binary is installed', (context) =>
    expectComposeConfigValid(context, [composePath, sentinelComposePath]));
});

describe('docker-compose.cluster.yml (the Redis Cluster override)', () => {
  const { override, merged, mergedService } = withOverride(clusterComposePath);
  const masters = ['redis', 'redis-2', 'redis-3'];
  const replicas = ['redis-replica-1', 'redis-replica-2', 'redis-replica-3'];
  const nodes = [...masters, ...replicas];

  it('adds two masters, three replicas and the one-shot init to the four services', () => {
    const added = Object.keys(override.services).filter((name) => !(name in compose.services)).sort();
    expect(added).toEqual(['redis-2', 'redis-3', 'redis-cluster-init', ...replicas].sort());
  });

  it('runs every node on redis:7 in cluster mode with AOF, noeviction, its own volume and its service name announced', () => {
    const volumes = new Set<string>();
    for (const name of nodes) {
      const node = mergedService(name);
      expect(node.image, name).toMatch(/^redis:7/);
      const command = commandOf(node);
      for (const flag of [/--cluster-enabled\s+yes\b/, /--cluster-config-file\s+\/data\/nodes\.conf\b/, /--appendonly\s+yes\b/, /--maxmemory-policy\s+noeviction\b/, /--cluster-preferred-endpoint-type\s+hostname\b/]) {
        expect(command, name).toMatch(flag);
      }
      expect(command, name).toMatch(/--cluster-announce-hostname\s+"\$\$NODE_NAME"/);
      expect(containerEnvironment(node).NODE_NAME, name).toBe(name);
      const mount = (node.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`)).find((m) => m.endsWith(':/data'));
      expect(mount, `${name} keeps /data on a volume`).toBeTruthy();
      volumes.add(mount!.split(':')[0]!);
      expect(Object.keys(merged.volumes ?? {}), name).toContain(mount!.split(':')[0]);
      expect([node.healthcheck?.test].flat().join(' '), name).toContain('redis-cli ping');
      expect(node.container_name, name).toBeUndefined();
    }
    expect(volumes.size).toBe(nodes.length);
  });

  it('forms the cluster once, from all six nodes with a replica per master, after every node is healthy', () => {
    const init = mergedService('redis-cluster-init');
    const script = commandOf(init);
    const create = /redis-cli --cluster create((?:\s+[\w-]+:\d+)+)\s+--cluster-replicas (\d+) --cluster-yes/.exec(script.replace(/\s+/g, ' '));
    expect(create, script).toBeTruthy();
    expect(create![1]!.trim().split(' ')).toEqual(nodes.map((name) => `${name}:6379`));
    expect(Number(create![2])).toBe(1);
    // Idempotent: a formed cluster (nodes.conf on the volumes) is left alone.
    expect(script).toMatch(/cluster info \| grep -q '\^cluster_state:ok' \|\|/);
    for (const name of nodes) expect(dependsOnOf(init)[name]?.condition, name).toBe('service_healthy');
    expect(init.restart).toBe('no');
  });

  it('starts the apps after the init step, with the masters as REDIS_CLUSTER_NODES and no REDIS_URL, parsed by their config as a cluster', () => {
    for (const app of apps) {
      const env = containerEnvironment(mergedService(app));
      expect(rawEnvironmentOf(mergedService(app)).REDIS_URL, app).toBeNull();
      expect(Object.keys(env), app).not.toContain('REDIS_URL');
      const topology = redisTopologyOf(loadConfig(baseEnvSchema, env));
      expect(topology.kind, app).toBe('cluster');
      if (topology.kind === 'cluster') expect(topology.nodes.map(({ host, port }) => `${host}:${port}`), app).toEqual(masters.map((name) => `${name}:6379`));
      expect(dependsOnOf(mergedService(app))['redis-cluster-init']?.condition, app).toBe('service_completed_successfully');
      expect(override.services[app]?.build, app).toBeUndefined();
    }
  });

  it("runs the nodes' command line on a real redis-server: every flag is one Redis takes", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conveyor-compose-cluster-'));
    try {
      const script = commandOf(mergedService('redis-2')).replace(/^sh -c /, '');
      // What the container's shell would run: $$ is Compose's escaped $, NODE_NAME from the environment.
      const args = script
        .replace('exec docker-entrypoint.sh redis-server', '')
        .replace('"$$NODE_NAME"', 'redis-2')
        .replaceAll('/data/', `${dir}/`)
        .trim()
        .split(/\s+/);
      const server = await startRedisServer({ extraArgs: [...args, '--dir', dir] });
      try {
        const client = new Redis({ port: server.port, host: '127.0.0.1', lazyConnect: true });
        try {
          expect(await client.info('cluster')).toMatch(/cluster_enabled:1/);
          expect(await client.config('GET', 'cluster-announce-hostname')).toEqual(['cluster-announce-hostname', 'redis-2']);
        } finally {
          client.disconnect();
        }
      } finally {
        await server.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes `docker-compose -f docker-compose.yml -f docker-compose.cluster.yml config -q` when a compose binary is installed', (context) =>
    expectComposeConfigValid(context, [composePath, clusterComposePath]));
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');

  it('is multi-stage on node:20-bookworm-slim with a stage per app', () => {
    expect(dockerfile).toMatch(/node:20-bookworm-slim/);
    expect(dockerfileStages(join(root, 'Dockerfile'))).toEqual(['deps', 'runtime', 'producer', 'worker', 'dashboard']);
  });

  it('installs production dependencies only and runs as the node user', () => {
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/NODE_ENV=production/);
    expect(dockerfile).toMatch(/HOST=0\.0\.0\.0/);
  });

  it('copies every workspace manifest before installing, so npm ci matches the lockfile', () => {
    const workspaces = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
    for (const workspace of workspaces) expect(dockerfile, workspace).toContain(`COPY ${workspace}/package.json ${workspace}/`);
  });

  it('can run each app with --omit=dev: tsx, which runs the TypeScript, is a regular dependency', () => {
    for (const app of apps) {
      const manifest = JSON.parse(readFileSync(join(root, app, 'package.json'), 'utf8')) as {
        dependencies?: Record<string, string>;
      };
      expect(Object.keys(manifest.dependencies ?? {}), app).toContain('tsx');
    }
    expect(dockerfile).toMatch(/CMD \["node", "--import", "tsx", "src\/main\.ts"\]/);
  });

  it('keeps host node_modules, git and local state out of the build context', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim());
    for (const entry of ['node_modules', '.git', '.conveyor', '.turbo']) expect(ignored, entry).toContain(entry);
  });
});
