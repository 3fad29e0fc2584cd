/**
 * Checks deploy/kubernetes/ without a cluster: every YAML file parses, and what the manifests
 * say about the apps is true of the apps. Each Deployment runs the Dockerfile target's image,
 * directory and command; every variable it sets is one its app reads, and the environment it
 * builds passes the app's own config parser (the one main.ts calls) on the port it exposes;
 * its probes are routes the app serves. The autoscalers scale the worker Deployment on the
 * metric the dashboard really exports, read from the source (RECOMMENDED_WORKERS_METRIC and
 * the dashboard's metric table), not spelled here again.
 *
 * The apps' config modules are imported at run time by path: e2e depends on @conveyor/shared
 * only, and the type-check should not pull the apps' sources into this package.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, defaultSlotsPerWorker, queueNames, RECOMMENDED_WORKERS_METRIC } from '@conveyor/shared';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { metricNamesIn } from './promql-names.ts';
import { repoRoot } from './stack.ts';

const manifestsDir = join(repoRoot, 'deploy', 'kubernetes');
const apps = ['producer', 'worker', 'dashboard'] as const;
type App = (typeof apps)[number];

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [field: string]: any;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } };
}

interface Container {
  name: string;
  image: string;
  workingDir?: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(entry.name) ? [path] : [];
  });
}

/** Every document of every YAML file, with the file it came from; throws on a YAML error. */
function loadManifests(): { file: string; doc: unknown }[] {
  return yamlFiles(manifestsDir).flatMap((path) =>
    parseAllDocuments(readFileSync(path, 'utf8')).map((document) => {
      if (document.errors.length > 0) throw new Error(`${relative(repoRoot, path)}: ${document.errors.map((e) => e.message).join('; ')}`);
      return { file: relative(manifestsDir, path), doc: document.toJS() as unknown };
    }),
  );
}

const loaded = loadManifests();
const manifests = loaded.filter((m): m is { file: string; doc: Manifest } => typeof m.doc === 'object' && m.doc !== null && 'kind' in m.doc).map((m): Manifest & { file: string } => ({ ...m.doc, file: m.file }));
const ofKind = (kind: string) => manifests.filter((m) => m.kind === kind);
const named = (kind: string, name: string): Manifest & { file: string } => {
  const found = ofKind(kind).find((m) => m.metadata.name === name);
  if (!found) throw new Error(`no ${kind} named ${name} in deploy/kubernetes`);
  return found;
};
const deployment = (app: App) => named('Deployment', `conveyor-${app}`);
const containerOf = (app: App): Container => deployment(app).spec.template.spec.containers[0];

/** The Dockerfile's stage `target`: its WORKDIR and its CMD (exec form). */
function dockerfileStage(target: string): { workdir: string | undefined; cmd: string[] | undefined } {
  const text = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  const stage = new RegExp(`^FROM\\s+\\S+\\s+AS\\s+${target}\\s*$([\\s\\S]*?)(?=^FROM\\s|(?![\\s\\S]))`, 'im').exec(text)?.[1];
  if (stage === undefined) return { workdir: undefined, cmd: undefined };
  const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(stage)?.[1];
  return { workdir: /^WORKDIR\s+(\S+)\s*$/m.exec(stage)?.[1], cmd: cmd ? (JSON.parse(cmd) as string[]) : undefined };
}

/** An app's config module: its env schema (for the variable names) and the loader main.ts calls. */
interface AppConfigModule {
  names: Set<string>;
  load: (env: Record<string, string | undefined>) => Record<string, unknown>;
}

async function appConfig(app: App): Promise<AppConfigModule> {
  const module = (await import(pathToFileURL(join(repoRoot, app, 'src', 'config.ts')).href)) as Record<string, any>;
  const schema = module[`${app}EnvSchema`] as { shape: Record<string, unknown> };
  const loader = { producer: 'loadProducerConfig', worker: 'loadWorkerConfig', dashboard: 'loadDashboardConfig' }[app];
  return { names: new Set(Object.keys(schema.shape)), load: (env) => module[loader](env) };
}

/** Values that parse, standing in for the Secret's placeholders. */
const testSecrets: Record<string, string> = {
  REDIS_URL: 'redis://conveyor:secret@redis.internal:6379',
  PAYLOAD_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
  PRODUCER_API_KEYS: 'app=a-key-of-at-least-16-characters:enqueue+read',
  WEBHOOK_SIGNING_SECRET: 'a-webhook-signing-secret',
  DASHBOARD_USERS: 'admin:operator:scrypt$16384$8$1$vSprCvXNHXrtFhoY/9whzA==$CWK00Jhj1K+tQckNQscN9svefuPX19zLung3WeK2vbI=',
  DASHBOARD_SESSION_SECRET: 'x'.repeat(32),
};

/** The container's environment as the kubelet builds it, each secret from `secrets`. */
function containerEnv(container: Container, secrets: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) Object.assign(env, named('ConfigMap', source.configMapRef.name).data);
    if (source.secretRef) throw new Error('envFrom a whole Secret: give each app only the keys it reads');
  }
  for (const variable of container.env ?? []) {
    const secret = variable.valueFrom?.secretKeyRef;
    const configKey = variable.valueFrom?.configMapKeyRef;
    if (secret) env[variable.name] = secrets[secret.key]!;
    else if (configKey) env[variable.name] = named('ConfigMap', configKey.name).data[configKey.key];
    else env[variable.name] = variable.value ?? '';
  }
  return env;
}

describe('deploy/kubernetes', () => {
  const configs = {} as Record<App, AppConfigModule>;
  beforeAll(async () => {
    for (const app of apps) configs[app] = await appConfig(app);
  });

  it('parses: every document of every YAML file is a Kubernetes object with a name', () => {
    expect(yamlFiles(manifestsDir).length).toBeGreaterThanOrEqual(8);
    for (const { file, doc } of loaded) {
      if (file.endsWith('prometheus-adapter-values.yaml')) continue; // Helm values, checked below
      expect(doc, file).toMatchObject({ apiVersion: expect.any(String), kind: expect.any(String), metadata: { name: expect.any(String) } });
    }
    expect(ofKind('Deployment').map((d) => d.metadata.name).sort()).toEqual(['conveyor-dashboard', 'conveyor-producer', 'conveyor-worker']);
  });

  it.each(apps)("runs %s from the Dockerfile's target: its image, directory and command", (app) => {
    const container = containerOf(app);
    const stage = dockerfileStage(app);
    expect(stage.cmd, `a Dockerfile stage "${app}" with an exec-form CMD`).toBeDefined();
    expect(container.image).toMatch(new RegExp(`(^|/)conveyor-${app}(:|@|$)`));
    expect(container.workingDir).toBe(stage.workdir);
    expect([...(container.command ?? []), ...(container.args ?? [])]).toEqual(stage.cmd);
    // The image has the repository under /app (Dockerfile `COPY <app> ./<app>`).
    expect(stage.workdir).toBe(`/app/${app}`);
    const entry = stage.cmd!.at(-1)!;
    expect(existsSync(join(repoRoot, app, entry)), `${app}/${entry}`).toBe(true);
  });

  it.each(apps)('sets for %s only variables its config reads, and an environment that config accepts', (app) => {
    const container = containerOf(app);
    const env = containerEnv(container, testSecrets);
    const unknown = Object.keys(env).filter((name) => !configs[app].names.has(name));
    expect(unknown, `variables ${app}'s config.ts does not read`).toEqual([]);
    const parsed = configs[app].load(env);
    // The port it listens on is the one the container declares (and probes).
    const port = app === 'worker' ? parsed.port : parsed.PORT;
    expect(container.ports?.map((p) => p.containerPort)).toEqual([port]);
    // The secrets the Deployment refers to are all in the sketch.
    const secret = named('Secret', 'conveyor-secrets');
    for (const variable of container.env ?? []) {
      const ref = variable.valueFrom?.secretKeyRef;
      if (ref) expect(Object.keys(secret.stringData), `${app} ${variable.name}`).toContain(ref.key);
    }
  });

  it('has placeholder secrets that the apps refuse, so the sketch cannot run as it is', () => {
    const placeholders = named('Secret', 'conveyor-secrets').stringData as Record<string, string>;
    for (const app of apps) {
      const env = containerEnv(containerOf(app), placeholders);
      expect(() => configs[app].load(env), app).toThrow(ConfigError);
    }
  });

  it.each(apps)('probes %s on routes it serves: readiness /readyz, liveness /healthz, on its port', (app) => {
    const container = containerOf(app);
    const portNames = (container.ports ?? []).map((p) => p.name);
    const served = {
      producer: readFileSync(join(repoRoot, 'producer/src/routes/health.ts'), 'utf8'),
      worker: readFileSync(join(repoRoot, 'worker/src/health-server.ts'), 'utf8'),
      dashboard: readFileSync(join(repoRoot, 'dashboard/src/routes/index.ts'), 'utf8'),
    }[app];
    for (const [probe, path] of [[container.readinessProbe, '/readyz'], [container.livenessProbe, '/healthz']] as const) {
      expect(probe?.httpGet?.path, app).toBe(path);
      expect(portNames, app).toContain(probe?.httpGet?.port);
      expect(served, `${app} serves ${path}`).toContain(`'${path}'`);
    }
  });

  it('gives each Deployment a Service that selects its pods, on a port the container declares', () => {
    for (const app of apps) {
      const spec = deployment(app).spec;
      expect(spec.template.metadata.labels, app).toMatchObject(spec.selector.matchLabels);
      const service = named('Service', `conveyor-${app}`);
      expect(spec.template.metadata.labels, app).toMatchObject(service.spec.selector);
      const portNames = (containerOf(app).ports ?? []).map((p) => p.name);
      for (const port of service.spec.ports) expect(portNames, app).toContain(port.targetPort);
    }
  });

  it('lets a worker finish its running jobs before the kubelet kills it', () => {
    const env = containerEnv(containerOf('worker'), testSecrets);
    const parsed = configs.worker.load(env) as { shutdownTimeoutMs: number };
    expect(deployment('worker').spec.template.spec.terminationGracePeriodSeconds * 1_000).toBeGreaterThan(parsed.shutdownTimeoutMs);
  });

  it("scales the worker with KEDA on the dashboard's recommended worker count", async () => {
    const dashboardMetrics = (await import(pathToFileURL(join(repoRoot, 'dashboard/src/queue-metrics.ts')).href)) as { queueMetrics: { name: string; type: string }[] };
    expect(dashboardMetrics.queueMetrics.find((m) => m.name === RECOMMENDED_WORKERS_METRIC)?.type).toBe('gauge');

    const [scaled] = ofKind('ScaledObject');
    expect(scaled?.apiVersion).toBe('keda.sh/v1alpha1');
    expect(scaled!.spec.scaleTargetRef.name).toBe(deployment('worker').metadata.name);
    const [trigger] = scaled!.spec.triggers;
    expect(trigger.type).toBe('prometheus');
    expect(metricNamesIn(trigger.metadata.query)).toEqual([RECOMMENDED_WORKERS_METRIC]);
    // replicas = ceil(value / threshold): the value itself.
    expect(trigger.metadata.threshold).toBe('1');
    expect(trigger.metadata.ignoreNullValues).toBe('false');
    expect(scaled!.spec.fallback.replicas).toBeGreaterThanOrEqual(1);
  });

  it("sizes workers with none live by the worker's own default concurrency per queue", () => {
    // The recommendation's k without live workers (shared) must be what a worker started with
    // no concurrency variables runs (worker/src/config.ts): they are two copies of one default.
    const parsed = configs.worker.load({}) as { concurrency: Record<string, number> };
    for (const queue of queueNames) expect(defaultSlotsPerWorker(queue), queue).toBe(parsed.concurrency[queue]);
  });

  it('scales the worker with an HPA on the External metric the prometheus-adapter rule serves', () => {
    const [hpa] = ofKind('HorizontalPodAutoscaler');
    expect(hpa?.apiVersion).toBe('autoscaling/v2');
    expect(hpa!.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment('worker').metadata.name });
    const [metric] = hpa!.spec.metrics;
    expect(metric.type).toBe('External');
    expect(metric.external.metric.name).toBe(RECOMMENDED_WORKERS_METRIC);
    expect(metric.external.target).toEqual({ type: 'AverageValue', averageValue: '1' });

    const values = loaded.find((m) => m.file.endsWith('prometheus-adapter-values.yaml'))?.doc as {
      rules: { external: { seriesQuery: string; name: { as: string }; metricsQuery: string }[] };
    };
    const rule = values.rules.external.find((r) => r.name.as === metric.external.metric.name);
    expect(rule, 'an adapter rule serving the HPA metric').toBeDefined();
    expect(metricNamesIn(rule!.seriesQuery)).toEqual([RECOMMENDED_WORKERS_METRIC]);
    // The HPA sums the series it is given: the rule must hand it one.
    expect(rule!.metricsQuery).toMatch(/^max\(/);
  });

  it("scrapes the dashboard's /metrics through its Service", () => {
    const [monitor] = ofKind('ServiceMonitor');
    const service = named('Service', 'conveyor-dashboard');
    expect(service.metadata.labels).toMatchObject(monitor!.spec.selector.matchLabels);
    expect(monitor!.spec.endpoints).toEqual([expect.objectContaining({ port: service.spec.ports[0].name, path: '/metrics' })]);
  });
});
