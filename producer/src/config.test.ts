import { baseEnvSchema, ConfigError, loadConfig } from '@conveyor/shared';
import { describe, expect, it } from 'vitest';
import { loadProducerConfig } from './config.ts';

describe('loadProducerConfig', () => {
  it('applies the local-development defaults', () => {
    // The shared variables' defaults are asserted in shared/src/config.test.ts.
    expect(loadProducerConfig({})).toEqual({
      ...loadConfig(baseEnvSchema, {}),
      PORT: 3000,
      BODY_LIMIT_BYTES: 1_048_576,
      REDIS_COMMAND_TIMEOUT_MS: 500,
      IDEMPOTENCY_TTL_SEC: 86_400,
    });
  });

  it('reads every variable from the environment', () => {
    expect(
      loadProducerConfig({ PORT: '8080', BODY_LIMIT_BYTES: '2048', REDIS_COMMAND_TIMEOUT_MS: '250', IDEMPOTENCY_TTL_SEC: '60' }),
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
});
