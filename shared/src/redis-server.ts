/**
 * Spawns a private `redis-server` from PATH on a free loopback port: the test harness's
 * Redis, and the one `npm start` runs when REDIS_URL is not set. Never port 6379.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';

export interface RedisServerOptions {
  /** Data directory; when set, AOF is on and data survives a restart. Default: none, nothing kept. */
  dataDir?: string;
  /** Port to use; default a free one picked at random (never 6379). */
  port?: number;
  /** Path to the binary. Default `redis-server` (or REDIS_SERVER_BIN) from PATH. */
  binary?: string;
  /** Extra `--name value` arguments. */
  extraArgs?: string[];
  /** A config file to read first (Sentinel needs one it can rewrite). Default none. */
  configFile?: string;
  /** Run as a Sentinel (`--sentinel`); `configFile` must then monitor a master. Default false. */
  sentinel?: boolean;
  /** Listen for TLS on this port too (`--tls-port`; 0 picks a free one), with `extraArgs` naming the certificate. Default none. */
  tlsPort?: number;
}

export interface RedisServerHandle {
  url: string;
  port: number;
  /** The TLS port, when started with `tlsPort`. */
  tlsPort?: number;
  process: ChildProcess;
  /** Stops the server with SIGTERM (SIGKILL after 5 s) and waits for it to exit. */
  stop(): Promise<void>;
}

export class RedisServerMissingError extends Error {
  override readonly name = 'RedisServerMissingError';
  constructor(binary: string) {
    super(
      `"${binary}" was not found on PATH. Install Redis 7: ` +
        '`sudo apt-get install -y redis-server` (Debian/Ubuntu), `brew install redis` (macOS), ' +
        'or run the whole system with `docker compose up`; or point REDIS_URL at a Redis you run.',
    );
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object' && address.port !== 6379) resolve(address.port);
        else freePort().then(resolve, reject);
      });
    });
  });
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const tries = options.port ? 1 : 5;
  let lastError: Error | undefined;
  for (let i = 0; i < tries; i++) {
    const port = options.port ?? (await freePort());
    const tlsPort = options.tlsPort === 0 ? await freePort() : options.tlsPort;
    try {
      return await spawnOnce(port, { ...options, ...(tlsPort !== undefined ? { tlsPort } : {}) });
    } catch (error) {
      if (error instanceof RedisServerMissingError) throw error;
      lastError = error as Error;
    }
  }
  throw lastError ?? new Error('redis-server did not start');
}

function spawnOnce(port: number, options: RedisServerOptions): Promise<RedisServerHandle> {
  const binary = options.binary ?? process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const persistence = options.dataDir
    ? ['--dir', options.dataDir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '']
    : ['--save', '', '--appendonly', 'no'];
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const args = [
    ...(options.configFile ? [options.configFile] : []),
    ...(options.sentinel ? ['--sentinel'] : []),
    '--port', String(port),
    ...(options.tlsPort ? ['--tls-port', String(options.tlsPort)] : []),
    '--bind', '127.0.0.1',
    '--protected-mode', 'yes',
    '--maxmemory-policy', 'noeviction',
    '--daemonize', 'no',
    ...persistence,
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });

  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`redis-server did not become ready in 10 s:\n${output}`)), 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      // A Sentinel is ready once it monitors its master.
      if (output.includes(options.sentinel ? '+monitor master' : 'Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        // Keep draining so a chatty server never blocks on a full pipe.
        child.stdout.resume();
        child.stderr.resume();
        resolve(handle(child, port, options.tlsPort));
      }
    };
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (error: NodeJS.ErrnoException) =>
      fail(error.code === 'ENOENT' ? new RedisServerMissingError(binary) : error),
    );
    child.once('exit', (code) => fail(new Error(`redis-server exited with ${code}:\n${output}`)));
  });
}

function handle(child: ChildProcess, port: number, tlsPort: number | undefined): RedisServerHandle {
  child.removeAllListeners('exit');
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    ...(tlsPort !== undefined ? { tlsPort } : {}),
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
