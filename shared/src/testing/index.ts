/** Test helpers shared by every workspace's tests. Never imported by app code. */
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
// Brings the `inject('redisUrl')` type (vitest ProvidedContext) into every importer's type-check.
import type {} from './global-setup.ts';

export { startRedisServer, freePort, type RedisServerHandle } from '../redis-server.ts';
export { parsePrometheusText, type PrometheusExposition, type PrometheusSample } from './prometheus-text.ts';

/** PAYLOAD_ENCRYPTION_KEYS for tests: one fresh key per test process (never a real secret). */
export const TEST_PAYLOAD_KEYS = `test:${randomBytes(32).toString('base64')}`;

/** A fresh key prefix, so tests sharing one redis-server never see each other's keys. */
export function testPrefix(label = 't'): string {
  return `${label}-${randomBytes(5).toString('hex')}`;
}

/** Polls `check` until it returns a truthy value, or throws after `timeoutMs` (default 10 s). */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const { timeoutMs = 10_000, intervalMs = 25, what = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? `: last error ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface AppProcess {
  child: ChildProcess;
  /** Everything the process printed so far (stdout + stderr). */
  output(): string;
  /** Resolves when a line of output matches `pattern`; rejects on exit or after `timeoutMs`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` (default SIGTERM) and waits for exit; SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts an app's `main.ts` as a real child process (`node --import tsx <entry>`) with
 * `env` over a minimal environment. The caller must `stop()` it; tests do so in afterEach.
 */
export function startApp(entry: string, env: Record<string, string>, cwd?: string): AppProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const onChunk = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', onChunk);
  child.stderr!.on('data', onChunk);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const listener of listeners) listener();
      resolve({ code, signal });
    }),
  );

  return {
    child,
    output: () => output,
    exited,
    waitForOutput(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(output);
          if (match) return done(() => resolve(match[0]));
          if (child.exitCode !== null || child.signalCode !== null) {
            done(() => reject(new Error(`process exited before printing ${pattern}:\n${output}`)));
          }
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`timed out waiting for ${pattern}:\n${output}`))),
          timeoutMs,
        );
        const done = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        const result = await exited;
        clearTimeout(timer);
        return result;
      }
      return exited;
    },
  };
}
export { startSentinelSet, type SentinelSet, type SentinelSetOptions } from './sentinel-set.ts';
export { startRedisCluster, type RedisCluster, type RedisClusterOptions } from './redis-cluster.ts';
