import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { baseEnvShape, ConfigError, envInt, envList, loadConfig } from './config.ts';

const schema = z.object({ ...baseEnvShape, PORT: envInt(3000, { max: 65535 }), HOSTS: envList() });

describe('loadConfig', () => {
  it('applies the local-development defaults', () => {
    expect(loadConfig(schema, {})).toEqual({
      REDIS_TLS: false,
      CONVEYOR_PREFIX: 'conveyor',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      REDIS_ALLOW_EVICTION: false,
      QUEUE_MODEL_HISTORY_DAYS: 7,
      PAYLOAD_ENCRYPTION_KEYS: [],
      PORT: 3000,
      HOSTS: [],
    });
  });

  it('bounds QUEUE_MODEL_HISTORY_DAYS to 1–366 days', () => {
    expect(loadConfig(schema, { QUEUE_MODEL_HISTORY_DAYS: '30' }).QUEUE_MODEL_HISTORY_DAYS).toBe(30);
    expect(() => loadConfig(schema, { QUEUE_MODEL_HISTORY_DAYS: '0' })).toThrow(/QUEUE_MODEL_HISTORY_DAYS/);
  });

  it('reads REDIS_ALLOW_EVICTION as a boolean and refuses anything else', () => {
    expect(loadConfig(schema, { REDIS_ALLOW_EVICTION: 'true' }).REDIS_ALLOW_EVICTION).toBe(true);
    expect(loadConfig(schema, { REDIS_ALLOW_EVICTION: ' FALSE ' }).REDIS_ALLOW_EVICTION).toBe(false);
    expect(loadConfig(schema, { REDIS_ALLOW_EVICTION: '1' }).REDIS_ALLOW_EVICTION).toBe(true);
    expect(() => loadConfig(schema, { REDIS_ALLOW_EVICTION: 'maybe' })).toThrow(/REDIS_ALLOW_EVICTION: expected true or false/);
  });

  it('parses numbers and lists', () => {
    const config = loadConfig(schema, { PORT: ' 8080 ', HOSTS: 'a.example, b ,,c' });
    expect(config.PORT).toBe(8080);
    expect(config.HOSTS).toEqual(['a.example', 'b', 'c']);
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      loadConfig(schema, { PORT: 'abc', REDIS_URL: 'localhost:6379', LOG_LEVEL: 'loud' });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, message } = error as ConfigError;
    expect(problems.map((p) => p.variable).sort()).toEqual(['LOG_LEVEL', 'PORT', 'REDIS_URL']);
    expect(message).toMatch(/PORT: expected an integer between 0 and 65535 \(got "abc"\)/);
    expect(message).toMatch(/REDIS_URL: expected a redis:\/\/ or rediss:\/\/ URL/);
  });

  it('refuses an out-of-range port and a prefix with a colon', () => {
    expect(() => loadConfig(schema, { PORT: '70000' })).toThrow(/PORT/);
    expect(() => loadConfig(schema, { CONVEYOR_PREFIX: 'a:b' })).toThrow(/CONVEYOR_PREFIX/);
  });
});
