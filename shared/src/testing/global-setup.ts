/**
 * vitest globalSetup: one private redis-server per test run, on a free loopback port,
 * nothing kept on disk. Tests read its URL with `inject('redisUrl')` and isolate
 * themselves by a BullMQ prefix of their own (`testPrefix()`).
 */
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startRedisServer } from '../redis-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startRedisServer();
  project.provide('redisUrl', server.url);
  return () => server.stop();
}
