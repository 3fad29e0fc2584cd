import { baseEnvSchema, ConfigError, loadConfig, redisTopologyOf } from '@conveyor/shared';
import { describe, expect, it } from 'vitest';
import { TEST_PAYLOAD_KEYS } from '@conveyor/shared/testing';
import { loadProducerConfig } from './config.ts';

// email.send has a sensitive field, so the producer needs a key to start.
const keys = { PAYLOAD_ENCRYPTION_KEYS: TEST_PAYLOAD_KEYS };

describe('loadProducerConfig', () => {
  it('applies the local-development defaults', () => {
    // The shared variables' defaults are asserted in shared/src/config.test.ts.
    expect(loadProducerConfig(keys)).toEqual({
      ...loadConfig(baseEnvSchema, keys),
      PORT: 3000,
      BODY_LIMIT_BYTES: 1_048_576,
      REDIS_COMMAND_TIMEOUT_MS: 500,
      IDEMPOTENCY_TTL_SEC: 86_400,
      BULK_MAX_JOBS: 1_000,
      PRODUCER_API_KEYS: [],
      PRODUCER_RATE_LIMIT_PER_SEC: 0,
      PRODUCER_RATE_LIMIT_BURST: 1,
      PRODUCER_DURABLE_ENQUEUE: false,
      PRODUCER_DURABLE_REPLICAS: 1,
      PRODUCER_DURABLE_TIMEOUT_MS: 200,
      durable: undefined,
      redisTopology: redisTopologyOf(loadConfig(baseEnvSchema, keys)),
    });
  });

  it('reads durable enqueue and the Redis topology', () => {
    const config = loadProducerConfig({ ...keys, PRODUCER_DURABLE_ENQUEUE: 'true', PRODUCER_DURABLE_REPLICAS: '2', PRODUCER_DURABLE_TIMEOUT_MS: '50', REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_NAME: 'm' });
    expect(config.durable).toEqual({ replicas: 2, timeoutMs: 50 });
    expect(config.redisTopology).toMatchObject({ kind: 'sentinel', name: 'm' });
    expect(() => loadProducerConfig({ ...keys, PRODUCER_DURABLE_REPLICAS: '0', REDIS_SENTINELS: 'a:1' })).toThrow(/PRODUCER_DURABLE_REPLICAS[\s\S]*REDIS_SENTINEL_NAME|REDIS_SENTINEL_NAME[\s\S]*PRODUCER_DURABLE_REPLICAS/);
  });

  it('reads every variable from the environment', () => {
    expect(
      loadProducerConfig({ ...keys, PORT: '8080', BODY_LIMIT_BYTES: '2048', REDIS_COMMAND_TIMEOUT_MS: '250', IDEMPOTENCY_TTL_SEC: '60' }),
    ).toMatchObject({ PORT: 8080, BODY_LIMIT_BYTES: 2048, REDIS_COMMAND_TIMEOUT_MS: 250, IDEMPOTENCY_TTL_SEC: 60 });
  });

  it('names every bad variable in one ConfigError', () => {
    const error = (() => {
      try {
        loadProducerConfig({ PORT: 'abc', BODY_LIMIT_BYTES: '0', REDIS_COMMAND_TIMEOUT_MS: '-1', REDIS_URL: 'http://x' });
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((problem) => problem.variable).sort()).toEqual(
      ['BODY_LIMIT_BYTES', 'PORT', 'REDIS_COMMAND_TIMEOUT_MS', 'REDIS_URL'].sort(),
    );
    expect((error as ConfigError).message).toContain('PORT');
  });

  it('refuses to start without PAYLOAD_ENCRYPTION_KEYS while a kind has sensitive fields', () => {
    expect(() => loadProducerConfig({})).toThrow(ConfigError);
    expect(() => loadProducerConfig({})).toThrow(/PAYLOAD_ENCRYPTION_KEYS: required: email\.send \(body\)/);
  });
});
