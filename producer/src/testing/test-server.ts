/**
 * Test fixture: a real producer app on a real socket (127.0.0.1, a free port) against a real
 * Redis, under a key prefix of its own. Tests `close()` it in afterEach/afterAll.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, createRedis, whenRedisReady } from '@conveyor/shared';
import { testPrefix } from '@conveyor/shared/testing';
// Brings in the type of `inject('redisUrl')`, which the shared globalSetup provides.
import type {} from '@conveyor/shared/testing/global-setup';
import type { Redis } from 'ioredis';
import { createApp } from '../app.ts';
import { createProducer, type Producer } from '../client.ts';

export interface TestServer {
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  url: string;
  producer: Producer;
  redis: Redis;
  prefix: string;
  close(): Promise<void>;
}

export const silentLogger = createLogger({ name: 'producer-test', level: 'silent' });

export async function startTestServer(options: {
  redisUrl: string;
  /** Default 1 MiB. */
  bodyLimitBytes?: number;
  /** Default the producer's (500 ms). */
  commandTimeoutMs?: number;
  /** Default true: wait until Redis is ready before answering. */
  waitForRedis?: boolean;
}): Promise<TestServer> {
  const prefix = testPrefix('producer');
  const redis = createRedis({ url: options.redisUrl, mode: 'fail-fast', connectionName: 'conveyor:producer-test' }, silentLogger);
  if (options.waitForRedis ?? true) await whenRedisReady(redis, 5_000);
  const producer = createProducer({
    redis,
    prefix,
    logger: silentLogger,
    ...(options.commandTimeoutMs !== undefined ? { commandTimeoutMs: options.commandTimeoutMs } : {}),
  });
  const app = createApp({ producer, logger: silentLogger, bodyLimitBytes: options.bodyLimitBytes ?? 1_048_576 });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    producer,
    redis,
    prefix,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await producer.close();
      redis.disconnect();
    },
  };
}

/** POSTs `body` (an object is sent as JSON; a string as is) and returns status, headers and parsed JSON. */
export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: any }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, json: await response.json() };
}

export async function get(url: string): Promise<{ status: number; headers: Headers; json: any }> {
  const response = await fetch(url);
  return { status: response.status, headers: response.headers, json: await response.json() };
}
