/** The dead-letter environment variables, for the config.ts of every app that runs the sweep. */
import { envInt } from '../config.ts';
import type { RetentionLimits } from './sweep.ts';

export const deadLetterEnvShape = {
  /** Dead-letter records older than this are trimmed, in days. Default 30. */
  DEAD_LETTER_MAX_AGE_DAYS: envInt(30, { min: 1, max: 3_650 }),
  /** Each dead-letter queue keeps at most this many records, the newest. Default 100,000. */
  DEAD_LETTER_MAX_COUNT: envInt(100_000, { min: 1, max: 10_000_000 }),
  /** How often workers sweep `failed` into the DLQ and trim it, in ms. Default 15,000. */
  DEAD_LETTER_SWEEP_MS: envInt(15_000, { min: 100, max: 3_600_000 }),
};

export interface DeadLetterSettings extends RetentionLimits {
  sweepIntervalMs: number;
}

const DAY_MS = 24 * 3_600_000;

/** The settings from the parsed variables of `deadLetterEnvShape`. */
export function deadLetterSettingsFrom(env: {
  DEAD_LETTER_MAX_AGE_DAYS: number;
  DEAD_LETTER_MAX_COUNT: number;
  DEAD_LETTER_SWEEP_MS: number;
}): DeadLetterSettings {
  return {
    maxAgeMs: env.DEAD_LETTER_MAX_AGE_DAYS * DAY_MS,
    maxCount: env.DEAD_LETTER_MAX_COUNT,
    sweepIntervalMs: env.DEAD_LETTER_SWEEP_MS,
  };
}
