/** Starts the three apps as real processes against one Redis, for end-to-end tests. */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freePort, startApp, waitFor, type AppProcess } from '@conveyor/shared/testing';

export const repoRoot = join(import.meta.dirname, '..', '..');

/**
 * PAYLOAD_ENCRYPTION_KEYS for every app the e2e tests start, one fresh key per test run: the
 * producer refuses kinds with sensitive fields (email.send) without a key, and the worker needs
 * the same key to open them.
 */
export const E2E_PAYLOAD_KEYS = `e2e:${randomBytes(32).toString('base64')}`;

export interface Stack {
  producerUrl: string;
  dashboardUrl: string;
  workerUrl: string;
  apps: Record<'producer' | 'worker' | 'dashboard', AppProcess>;
  /** SIGTERMs every app and returns their exit codes. */
  stop(): Promise<Record<string, number | null>>;
}

/** `env` goes to every app; `perApp` adds to one app's (its own Redis user, say). */
export async function startStack(env: Record<string, string>, perApp: Partial<Record<'producer' | 'worker' | 'dashboard', Record<string, string>>> = {}): Promise<Stack> {
  const [producerPort, dashboardPort, workerPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const app = (name: 'producer' | 'worker' | 'dashboard', port: number) =>
    startApp(join(repoRoot, name, 'src', 'main.ts'), { PAYLOAD_ENCRYPTION_KEYS: E2E_PAYLOAD_KEYS, ...env, ...perApp[name], PORT: String(port) }, join(repoRoot, name));
  const apps = {
    producer: app('producer', producerPort),
    worker: app('worker', workerPort),
    dashboard: app('dashboard', dashboardPort),
  };
  const stack: Stack = {
    producerUrl: `http://127.0.0.1:${producerPort}`,
    dashboardUrl: `http://127.0.0.1:${dashboardPort}`,
    workerUrl: `http://127.0.0.1:${workerPort}`,
    apps,
    async stop() {
      const entries = await Promise.all(
        Object.entries(apps).map(async ([name, proc]) => {
          const { code } = await proc.stop();
          // The caller asserts clean exits; an app that crashed says why here.
          if (code) console.error(`${name} exited with ${code}; its last output:\n${proc.output().slice(-3_000)}`);
          return [name, code] as const;
        }),
      );
      return Object.fromEntries(entries);
    },
  };
  try {
    await Promise.all([
      apps.producer.waitForOutput(/producer listening on/),
      apps.worker.waitForOutput(/worker ready/),
      apps.dashboard.waitForOutput(/dashboard listening on/),
    ]);
    // The producer listens before its Redis connection is ready (503 until then).
    await waitFor(async () => (await fetch(`${stack.producerUrl}/readyz`)).status === 200, { what: 'the producer to be ready' });
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return stack;
}

export async function getJson(url: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any, headers: response.headers };
}

/**
 * Polls the producer's `GET /v1/jobs/{name}/{id}` until the job is in `state`; resolves with its
 * body, or throws after `timeoutMs` (default 20 s).
 */
export function waitForJobState(producerUrl: string, name: string, id: string, state: string, options: { timeoutMs?: number; intervalMs?: number } = {}) {
  return waitFor(
    async () => {
      const { status, body } = await getJson(`${producerUrl}/v1/jobs/${name}/${id}`);
      return status === 200 && body.state === state ? body : undefined;
    },
    { what: `${name} ${id} to be ${state}`, timeoutMs: options.timeoutMs ?? 20_000, ...(options.intervalMs !== undefined ? { intervalMs: options.intervalMs } : {}) },
  );
}
