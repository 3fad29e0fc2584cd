/** The access variables of the producer's config: PRODUCER_API_KEYS and the rate limit. */
import { ConfigError } from '@conveyor/shared';
import { TEST_PAYLOAD_KEYS } from '@conveyor/shared/testing';
import { describe, expect, it } from 'vitest';
import { loadProducerConfig } from './config.ts';

const base = { PAYLOAD_ENCRYPTION_KEYS: TEST_PAYLOAD_KEYS };

function configError(env: Record<string, string>): ConfigError {
  try {
    loadProducerConfig({ ...base, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('PRODUCER_API_KEYS', () => {
  it('parses keys and scopes', () => {
    const config = loadProducerConfig({ ...base, PRODUCER_API_KEYS: `ci=sha256:${'ab'.repeat(32)}:enqueue+read; ops=ops-secret-0123456789:admin` });
    expect(config.PRODUCER_API_KEYS.map((key) => [key.id, [...key.scopes]])).toEqual([
      ['ci', ['enqueue', 'read']],
      ['ops', ['admin']],
    ]);
  });

  it('fails start-up naming the variable and each bad entry, without echoing the value', () => {
    const error = configError({ PRODUCER_API_KEYS: 'ci=my-secret-value-123:write, ops=short:admin' });
    expect(error.problems.map((problem) => problem.variable)).toEqual(['PRODUCER_API_KEYS', 'PRODUCER_API_KEYS']);
    expect(error.message).toMatch(/PRODUCER_API_KEYS: entry 1: key "ci": scopes must be/);
    expect(error.message).toMatch(/PRODUCER_API_KEYS: entry 2: key "ops": the secret must be at least 16 characters/);
    expect(error.message).not.toContain('my-secret-value-123');
    expect(error.message).not.toContain('short');
  });
});

describe('PRODUCER_RATE_LIMIT_PER_SEC and PRODUCER_RATE_LIMIT_BURST', () => {
  it('are off by default', () => {
    expect(loadProducerConfig(base)).toMatchObject({ PRODUCER_RATE_LIMIT_PER_SEC: 0, PRODUCER_RATE_LIMIT_BURST: 1 });
  });

  it('take a rate with fractions; the burst defaults to one second of it, at least 1', () => {
    expect(loadProducerConfig({ ...base, PRODUCER_RATE_LIMIT_PER_SEC: '50' })).toMatchObject({ PRODUCER_RATE_LIMIT_PER_SEC: 50, PRODUCER_RATE_LIMIT_BURST: 50 });
    expect(loadProducerConfig({ ...base, PRODUCER_RATE_LIMIT_PER_SEC: '0.5' })).toMatchObject({ PRODUCER_RATE_LIMIT_PER_SEC: 0.5, PRODUCER_RATE_LIMIT_BURST: 1 });
    expect(loadProducerConfig({ ...base, PRODUCER_RATE_LIMIT_PER_SEC: '10', PRODUCER_RATE_LIMIT_BURST: '200' })).toMatchObject({ PRODUCER_RATE_LIMIT_BURST: 200 });
  });

  it('refuses negative, non-numeric or zero values where they make no sense', () => {
    const error = configError({ PRODUCER_RATE_LIMIT_PER_SEC: '-1', PRODUCER_RATE_LIMIT_BURST: '0' });
    expect(error.problems.map((problem) => problem.variable).sort()).toEqual(['PRODUCER_RATE_LIMIT_BURST', 'PRODUCER_RATE_LIMIT_PER_SEC']);
    expect(configError({ PRODUCER_RATE_LIMIT_PER_SEC: 'fast' }).message).toContain('PRODUCER_RATE_LIMIT_PER_SEC');
  });
});
