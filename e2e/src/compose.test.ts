/**
 * Validates docker-compose.yml and the Dockerfile without a Docker engine: the services, their
 * ports, environment, healthchecks and start order, and that every build names a stage that
 * exists. When a `docker-compose` (v1) or `docker compose` (v2) binary is present, it also runs
 * `config -q`, which checks the file against Compose's own schema (no engine needed).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const composePath = join(root, 'docker-compose.yml');
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

  it('passes `docker-compose config -q` when a compose binary is installed', (context) => {
    const binary = findComposeBinary();
    if (!binary) {
      context.skip('neither `docker-compose` nor `docker compose` is installed (apt-get install -y docker-compose)');
      return;
    }
    const result = spawnSync(binary.command, [...binary.args, '-f', composePath, 'config', '-q'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.error).toBeUndefined();
    expect(result.status, `${binary.command} ${binary.args.join(' ')} config -q:\n${result.stderr}`).toBe(0);
  });
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
