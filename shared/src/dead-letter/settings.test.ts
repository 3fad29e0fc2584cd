import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../config.ts';
import { deadLetterEnvShape, deadLetterSettingsFrom } from './settings.ts';

const schema = z.object(deadLetterEnvShape);

describe('dead-letter settings', () => {
  it('default to 30 days, 100,000 records and a sweep every 15 s', () => {
    expect(deadLetterSettingsFrom(loadConfig(schema, {}))).toEqual({ maxAgeMs: 30 * 86_400_000, maxCount: 100_000, sweepIntervalMs: 15_000 });
  });

  it('read overrides and name every bad variable', () => {
    expect(deadLetterSettingsFrom(loadConfig(schema, { DEAD_LETTER_MAX_AGE_DAYS: '7', DEAD_LETTER_MAX_COUNT: '10', DEAD_LETTER_SWEEP_MS: '500' }))).toEqual({
      maxAgeMs: 7 * 86_400_000,
      maxCount: 10,
      sweepIntervalMs: 500,
    });
    const error = (() => {
      try {
        loadConfig(schema, { DEAD_LETTER_MAX_AGE_DAYS: '0', DEAD_LETTER_MAX_COUNT: 'lots', DEAD_LETTER_SWEEP_MS: '5' });
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.variable).sort()).toEqual(['DEAD_LETTER_MAX_AGE_DAYS', 'DEAD_LETTER_MAX_COUNT', 'DEAD_LETTER_SWEEP_MS']);
  });
});
