import { pino } from 'pino';
import { describe, expect, inject, it } from 'vitest';
import {
  checkRedisSettings,
  checkRedisSettingsWhenReady,
  closeRedis,
  createRedis,
  RedisSettingsError,
  isRedisReady,
  redisConnectionOptions,
  redisOptionsFromUrl,
  whenRedisReady,
} from './redis.ts';
import { freePort, startRedisServer } from './redis-server.ts';
import { waitFor } from './testing/index.ts';

const silent = pino({ level: 'silent' });

describe('redisOptionsFromUrl', () => {
  it('reads host, port, user, password, database and TLS from a URL', () => {
    expect(redisOptionsFromUrl('rediss://app:s%3Acret@cache.internal:6380/2')).toEqual({
      host: 'cache.internal',
      port: 6380,
      username: 'app',
      password: 's:cret',
      db: 2,
      tls: { servername: 'cache.internal' },
    });
    expect(redisOptionsFromUrl('redis://[::1]:7000')).toMatchObject({ host: '::1', port: 7000 });
  });

  it('refuses other schemes and non-numeric databases', () => {
    expect(() => redisOptionsFromUrl('http://x')).toThrow(/scheme/);
    expect(() => redisOptionsFromUrl('redis://x/abc')).toThrow(/database must be a number/);
  });
});

describe('redisConnectionOptions', () => {
  it('fails fast for producers and waits out outages for workers', () => {
    const failFast = redisConnectionOptions({ url: 'redis://h:1', mode: 'fail-fast' });
    expect(failFast).toMatchObject({ enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    const waitOut = redisConnectionOptions({ url: 'redis://h:1', mode: 'wait-out' });
    expect(waitOut).toMatchObject({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    expect(waitOut.retryStrategy!(100)).toBe(5_000);
    expect(failFast.retryStrategy!(1)).toBe(100);
  });
});

describe('createRedis', () => {
  it('rejects a command at once while Redis is down, then recovers when it returns', async () => {
    const server = await startRedisServer();
    const redis = createRedis({ url: server.url, mode: 'fail-fast' }, silent);
    try {
      await waitFor(() => isRedisReady(redis), { what: 'ready' });
      await server.stop();
      await waitFor(() => !isRedisReady(redis), { what: 'disconnect' });
      const started = Date.now();
      await expect(redis.ping()).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(500);

      const again = await startRedisServer({ port: server.port });
      try {
        await waitFor(() => isRedisReady(redis), { what: 'reconnect', timeoutMs: 10_000 });
        expect(await redis.ping()).toBe('PONG');
      } finally {
        redis.disconnect();
        await again.stop();
      }
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });

  it('closes with QUIT when connected, and stops reconnecting when Redis is away', async () => {
    const connected = createRedis({ url: inject('redisUrl'), mode: 'fail-fast' }, silent);
    await waitFor(() => isRedisReady(connected), { what: 'ready' });
    await closeRedis(connected, 1_000);
    await waitFor(() => connected.status === 'end', { what: 'the connection to end', timeoutMs: 2_000 });

    const away = createRedis({ url: `redis://127.0.0.1:${await freePort()}`, mode: 'fail-fast' }, silent);
    await closeRedis(away, 1_000);
    await waitFor(() => away.status === 'end', { what: 'reconnecting to stop', timeoutMs: 2_000 });
  });

  it('passes a noeviction Redis with only the AOF warning', async () => {
    const redis = createRedis({ url: inject('redisUrl'), mode: 'fail-fast' }, silent);
    try {
      await whenRedisReady(redis, 5_000);
      // The test server runs noeviction with AOF off, so exactly the AOF warning is expected.
      const warnings = await checkRedisSettings(redis, silent);
      expect(warnings).toEqual([expect.stringMatching(/AOF is off/)]);
    } finally {
      redis.disconnect();
    }
  });
});

describe('checkRedisSettings on an evicting Redis', () => {
  it('refuses to start unless eviction is explicitly allowed, then warns', async () => {
    const server = await startRedisServer({ extraArgs: ['--maxmemory-policy', 'allkeys-lru'] });
    const redis = createRedis({ url: server.url, mode: 'fail-fast' }, silent);
    try {
      await whenRedisReady(redis, 5_000);
      const refusal = await checkRedisSettings(redis, silent).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(RedisSettingsError);
      expect((refusal as Error).message).toMatch(/Refusing to start: Redis maxmemory-policy is "allkeys-lru".*REDIS_ALLOW_EVICTION=true/);

      const warnings = await checkRedisSettings(redis, silent, { allowEviction: true });
      expect(warnings).toEqual([
        expect.stringMatching(/maxmemory-policy is "allkeys-lru".*allowed by REDIS_ALLOW_EVICTION=true/),
        expect.stringMatching(/AOF is off/),
      ]);
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });

  it('runs the gate when Redis first becomes ready, for apps that started before it', async () => {
    const server = await startRedisServer({ extraArgs: ['--maxmemory-policy', 'volatile-ttl'] });
    const { port } = server;
    await server.stop();
    const redis = createRedis({ url: `redis://127.0.0.1:${port}`, mode: 'wait-out' }, silent);
    const refusals: RedisSettingsError[] = [];
    const outcome = checkRedisSettingsWhenReady(redis, silent, { onRefused: (error) => refusals.push(error) });
    const late = await startRedisServer({ port, extraArgs: ['--maxmemory-policy', 'volatile-ttl'] });
    try {
      expect(await outcome).toBe('refused');
      expect(refusals.map((error) => error.message)).toEqual([expect.stringContaining('"volatile-ttl"')]);
    } finally {
      redis.disconnect();
      await late.stop();
    }
  });
});
