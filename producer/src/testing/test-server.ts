/**
 * Test fixture: a real producer app on a real socket (127.0.0.1, a free port) against a real
 * Redis, under a key prefix of its own. Tests `close()` it in afterEach/afterAll.
 */
import type { AddressInfo } from 'node:net';
import { createLogger, createPayloadSealer, createRedis, findJobKind, parsePayloadKeys, whenRedisReady } from '@conveyor/shared';
import { TEST_PAYLOAD_KEYS, testPrefix } from '@conveyor/shared/testing';
// Brings in the type of `inject('redisUrl')`, which the shared globalSetup provides.
import type {} from '@conveyor/shared/testing/global-setup';
import type { RedisClient } from '@conveyor/shared';
import { createApp } from '../app.ts';
import { parseApiKeys } from '../auth/api-keys.ts';
import { createProducer, type Producer } from '../client.ts';
import { createHttpServer } from '../http-server.ts';
import { createTokenBucket } from '../rate-limit/token-bucket.ts';

export interface TestServer {
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  url: string;
  producer: Producer;
  redis: RedisClient;
  prefix: string;
  close(): Promise<void>;
}

export const silentLogger = createLogger({ name: 'producer-test', level: 'silent' });

/** The keys every test producer seals sensitive fields with (email.send's `body`). */
export const testPayloadKeys = parsePayloadKeys(TEST_PAYLOAD_KEYS);
const testSealer = createPayloadSealer({ keys: testPayloadKeys });

/** A stored payload of kind `name` with its sealed fields opened: what the worker's handler sees. */
export function opened(name: string, data: unknown): unknown {
  return testSealer.open(findJobKind(name)!, data);
}

export async function startTestServer(options: {
  redisUrl: string;
  /** Default 1 MiB. */
  bodyLimitBytes?: number;
  /** Default the producer's (500 ms). */
  commandTimeoutMs?: number;
  /** Default true: wait until Redis is ready before answering. */
  waitForRedis?: boolean;
  /** Key prefix; pass another server's to share its keys (two replicas). Default a fresh one. */
  prefix?: string;
  /** `PRODUCER_API_KEYS` text, e.g. `ci=sha256:<hex>:enqueue`. Default none: `/v1` is open. */
  apiKeys?: string;
  /** A per-client token bucket in front of `/v1`. Default none: no limit. */
  rateLimit?: { perSec: number; burst: number };
}): Promise<TestServer> {
  const prefix = options.prefix ?? testPrefix('producer');
  const redis = createRedis({ url: options.redisUrl, mode: 'fail-fast', connectionName: 'conveyor:producer-test', autoPipelining: true }, silentLogger);
  if (options.waitForRedis ?? true) await whenRedisReady(redis, 5_000);
  const producer = createProducer({
    redis,
    prefix,
    logger: silentLogger,
    payloadKeys: testPayloadKeys,
    ...(options.commandTimeoutMs !== undefined ? { commandTimeoutMs: options.commandTimeoutMs } : {}),
  });
  const rateLimiter = options.rateLimit && createTokenBucket({ redis, prefix, ...options.rateLimit, ...(options.commandTimeoutMs !== undefined ? { commandTimeoutMs: options.commandTimeoutMs } : {}) });
  const app = createApp({
    producer,
    logger: silentLogger,
    bodyLimitBytes: options.bodyLimitBytes ?? 1_048_576,
    apiKeys: parseApiKeys(options.apiKeys ?? ''),
    ...(rateLimiter ? { rateLimiter } : {}),
  });
  const server = createHttpServer(app);
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

/**
 * Any request: `body` (an object) is sent as JSON, `key` as `Authorization: Bearer <key>`.
 * `json` is the parsed answer, or undefined when it is empty or not JSON.
 */
export async function send(
  method: string,
  url: string,
  options: { body?: unknown; key?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; json: any }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  if (options.body !== undefined) headers['content-type'] ??= 'application/json';
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const response = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json };
}
