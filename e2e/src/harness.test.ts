import { Redis } from 'ioredis';
import { expect, inject, it } from 'vitest';

it('talks to the private redis-server the test run started', async () => {
  const url = inject('redisUrl');
  expect(url).not.toMatch(/:6379$/);
  const redis = new Redis(url);
  try {
    expect(await redis.ping()).toBe('PONG');
  } finally {
    redis.disconnect();
  }
});
