/** The producer's configuration: the shared variables plus its own, parsed once from the environment. */
import { baseEnvShape, envInt, loadConfig, type BaseConfig } from '@conveyor/shared';
import { z } from 'zod';

export const producerEnvSchema = z.object({
  ...baseEnvShape,
  /** TCP port of the HTTP service. Default 3000. */
  PORT: envInt(3000, { min: 0, max: 65_535 }),
  /** Largest accepted request body, in bytes. Default 1,048,576 (1 MiB). */
  BODY_LIMIT_BYTES: envInt(1_048_576, { min: 1, max: 100 * 1_048_576 }),
  /** Bound on every Redis call, in ms; past it the request answers 503. Default 500. */
  REDIS_COMMAND_TIMEOUT_MS: envInt(500, { min: 1, max: 60_000 }),
  /** How long an idempotency key or job id is remembered after its job was enqueued, in s. Default 86,400 (1 day). */
  IDEMPOTENCY_TTL_SEC: envInt(86_400, { min: 1, max: 365 * 86_400 }),
});

/** The parsed configuration (REDIS_URL, CONVEYOR_PREFIX, LOG_LEVEL, HOST come from the shared base). */
export interface ProducerConfig extends BaseConfig {
  /** TCP port of the HTTP service; 0 picks a free one. Default 3000. */
  PORT: number;
  /** Largest accepted request body, in bytes; larger bodies get 413. Default 1,048,576 (1 MiB). */
  BODY_LIMIT_BYTES: number;
  /** Bound on every Redis call, in ms; past it the request answers 503. Default 500. */
  REDIS_COMMAND_TIMEOUT_MS: number;
  /** How long an enqueue with a job id or idempotency key is remembered, in s. Default 86,400 (1 day). */
  IDEMPOTENCY_TTL_SEC: number;
}

/** Parses the producer's environment; throws one ConfigError naming every bad variable. */
export function loadProducerConfig(env: Record<string, string | undefined>): ProducerConfig {
  return loadConfig(producerEnvSchema, env);
}
