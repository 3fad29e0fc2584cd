/**
 * `npm start`: the whole system on one machine, for development and demos.
 *
 * 1. Redis: REDIS_URL when set; otherwise a private redis-server from PATH on a free
 *    loopback port, AOF on, data under .conveyor/redis/ (CONVEYOR_DATA_DIR) so jobs
 *    survive a restart.
 * 2. The payload encryption key (PAYLOAD_ENCRYPTION_KEYS) when set; otherwise a development key
 *    made on the first run and kept in .conveyor/payload-encryption-keys, so jobs sealed in one
 *    run still open in the next. The producer and the worker get the same key.
 * 3. The producer, one worker and the dashboard as child processes, each in its own process
 *    group so that Ctrl-C reaches only this script, which then stops them in order.
 * 4. Prints the three URLs once all are up. Ctrl-C or SIGTERM stops every child (SIGTERM,
 *    waiting for graceful shutdown) and then Redis. If a child dies, everything stops, exit 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { RedisServerMissingError, startRedisServer, type RedisServerHandle } from '@conveyor/shared';

const root = join(import.meta.dirname, '..');
const dataDir = process.env.CONVEYOR_DATA_DIR ?? join(root, '.conveyor');

interface AppSpec {
  name: 'producer' | 'worker' | 'dashboard';
  port: string;
  ready: RegExp;
}

const apps: AppSpec[] = [
  { name: 'producer', port: process.env.PRODUCER_PORT ?? '3000', ready: /producer listening on (http:\/\/[^\s"]+)/ },
  { name: 'worker', port: process.env.WORKER_PORT ?? '3002', ready: /worker ready/ },
  { name: 'dashboard', port: process.env.DASHBOARD_PORT ?? '3001', ready: /dashboard listening on (http:\/\/[^\s"]+)/ },
];

const children: { spec: AppSpec; child: ChildProcess; exited: Promise<number | null> }[] = [];
let redis: RedisServerHandle | undefined;
let stopping = false;

async function main(): Promise<void> {
  let redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    try {
      redis = await startRedisServer({ dataDir: join(dataDir, 'redis') });
    } catch (error) {
      console.error(`conveyor: ${(error as Error).message}`);
      process.exit(1);
    }
    redisUrl = redis.url;
    console.log(`conveyor: started redis-server on ${redisUrl} (data in ${join(dataDir, 'redis')})`);
  }

  const payloadKeys = localPayloadKeys();
  const urls = await Promise.all(apps.map((spec) => launch(spec, redisUrl!, payloadKeys)));
  // The producer listens before its Redis connection is ready (503 until then): say "running" when it takes jobs.
  await untilReady(`${urls[0]}/readyz`, READY_TIMEOUT_MS);
  console.log(
    [
      '',
      'Conveyor is running:',
      `  producer   ${urls[0]}   (POST /v1/jobs/{name})`,
      `  dashboard  ${urls[2]}`,
      `  worker     health on http://127.0.0.1:${apps[1]!.port}/healthz`,
      `  redis      ${redisUrl}`,
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

/** How long start-up waits for the producer's /readyz, in ms. */
const READY_TIMEOUT_MS = 30_000;

/** Polls `url` until it answers 200; after `timeoutMs` goes on with a warning rather than hang. */
async function untilReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(url).then((res) => res.ok, () => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  console.error(`conveyor: ${url} did not answer 200 within ${timeoutMs / 1000} s; is Redis reachable?`);
}

/** PAYLOAD_ENCRYPTION_KEYS, or the development key kept under the data directory (made on first use). */
function localPayloadKeys(): string {
  if (process.env.PAYLOAD_ENCRYPTION_KEYS?.trim()) return process.env.PAYLOAD_ENCRYPTION_KEYS;
  const file = join(dataDir, 'payload-encryption-keys');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const keys = `local:${randomBytes(32).toString('base64')}`;
  writeFileSync(file, `${keys}\n`, { mode: 0o600 });
  console.log(`conveyor: made a development payload encryption key in ${file}`);
  return keys;
}

function launch(spec: AppSpec, redisUrl: string, payloadKeys: string): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, spec.name, 'src', 'main.ts')], {
    cwd: join(root, spec.name),
    env: { ...process.env, REDIS_URL: redisUrl, PORT: spec.port, PAYLOAD_ENCRYPTION_KEYS: payloadKeys },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  children.push({ spec, child, exited });
  void exited.then((code) => {
    if (!stopping) {
      console.error(`conveyor: ${spec.name} exited unexpectedly (code ${code}); stopping everything`);
      void shutdown(1);
    }
  });

  return new Promise((resolve) => {
    const tag = `${spec.name.padEnd(9)}|`;
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        console.log(`${tag} ${line}`);
        const match = spec.ready.exec(line);
        if (match) resolve(match[1] ?? `http://127.0.0.1:${spec.port}`);
      });
    }
  });
}

async function shutdown(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('conveyor: stopping…');
  await Promise.all(
    children.map(async ({ child, exited }) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(timer);
    }),
  );
  await redis?.stop();
  console.log('conveyor: stopped');
  process.exit(exitCode);
}

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

main().catch((error: unknown) => {
  console.error(error instanceof RedisServerMissingError ? error.message : error);
  void shutdown(1);
});
