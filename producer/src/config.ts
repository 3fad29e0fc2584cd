/** The producer's configuration: the shared variables plus its own, parsed once from the environment. */
import { baseEnvShape, checkRedisTopology, ConfigError, envBool, envInt, envParsed, jobKinds, loadConfig, redisTopologyOf, type AnyJobKind, type BaseConfig, type RedisTopology } from '@conveyor/shared';
import { z } from 'zod';
import { ApiKeysFormatError, parseApiKeys, type ApiKey } from './auth/api-keys.ts';

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
  /** Most jobs one bulk request may carry; more gets 413. Default 1,000. */
  BULK_MAX_JOBS: envInt(1_000, { min: 1, max: 100_000 }),
  /** API keys, `<id>=<secret or sha256:hex>:<scopes>` entries (see auth/api-keys.ts). Default none: no authentication, loopback only. */
  PRODUCER_API_KEYS: apiKeys(),
  /** Rate-limit refill, in requests per second per key (or per IP without keys); fractions allowed; 0 = off. Default 0. */
  PRODUCER_RATE_LIMIT_PER_SEC: z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, 'expected a number of requests per second, 0 (off) or more, e.g. 50 or 0.5')
    .transform(Number)
    .pipe(z.number().min(0).max(1_000_000))
    .default(0),
  /** Rate-limit bucket size, in requests. Default: one second's worth (PRODUCER_RATE_LIMIT_PER_SEC, at least 1). */
  PRODUCER_RATE_LIMIT_BURST: z
    .string()
    .trim()
    .regex(/^\d+$/, 'expected a whole number of requests, 1 or more')
    .transform(Number)
    .pipe(z.number().int().min(1).max(10_000_000))
    .optional(),
  /** Acknowledge an enqueue only once PRODUCER_DURABLE_REPLICAS replicas have it (Redis WAIT); else 503 not_replicated. Default false. */
  PRODUCER_DURABLE_ENQUEUE: envBool(false),
  /** Replicas that must acknowledge a durable enqueue. Default 1. */
  PRODUCER_DURABLE_REPLICAS: envInt(1, { min: 1, max: 16 }),
  /** How long a durable enqueue waits for the replicas, in ms. Default 200. */
  PRODUCER_DURABLE_TIMEOUT_MS: envInt(200, { min: 1, max: 60_000 }),
}).superRefine(checkRedisTopology);

/** `PRODUCER_API_KEYS`, parsed; a bad entry is named by position and id, never by its secret. */
function apiKeys() {
  return envParsed(parseApiKeys, ApiKeysFormatError);
}

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
  /** Most jobs one bulk request may carry; more gets 413 too_many_items. Default 1,000. */
  BULK_MAX_JOBS: number;
  /** Keys that may call `/v1`, with their scopes; empty means no authentication (and loopback only). Default none. */
  PRODUCER_API_KEYS: ApiKey[];
  /** Rate-limit refill, in requests per second per client; 0 turns the limit off. Default 0. */
  PRODUCER_RATE_LIMIT_PER_SEC: number;
  /** Rate-limit bucket size, in requests. Default max(1, ceil(PRODUCER_RATE_LIMIT_PER_SEC)). */
  PRODUCER_RATE_LIMIT_BURST: number;
  /** Durable enqueue (Redis WAIT): undefined when off (PRODUCER_DURABLE_ENQUEUE=false). */
  durable: { replicas: number; timeoutMs: number } | undefined;
  /** Where Redis is: REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES, with AUTH and TLS. */
  redisTopology: RedisTopology;
}

/** Parses the producer's environment; throws one ConfigError naming every bad variable. */
export function loadProducerConfig(env: Record<string, string | undefined>): ProducerConfig {
  const config = loadConfig(producerEnvSchema, env);
  // A producer that could not enqueue these kinds is broken: say so at start, not at the first request.
  const sensitiveKinds = Object.values<AnyJobKind>(jobKinds).filter((kind) => (kind.sensitive ?? []).length > 0);
  if (config.PAYLOAD_ENCRYPTION_KEYS.length === 0 && sensitiveKinds.length > 0) {
    throw new ConfigError([
      {
        variable: 'PAYLOAD_ENCRYPTION_KEYS',
        message:
          `required: ${sensitiveKinds.map((kind) => `${kind.name} (${kind.sensitive!.join(', ')})`).join('; ')} ` +
          'have sensitive fields that are stored encrypted; set keyId:base64(32 bytes), e.g. ' +
          `k1:$(node -e "console.log(require('crypto').randomBytes(32).toString('base64'))") (it is not set)`,
      },
    ]);
  }
  return {
    ...config,
    PRODUCER_RATE_LIMIT_BURST: config.PRODUCER_RATE_LIMIT_BURST ?? Math.max(1, Math.ceil(config.PRODUCER_RATE_LIMIT_PER_SEC)),
    durable: config.PRODUCER_DURABLE_ENQUEUE ? { replicas: config.PRODUCER_DURABLE_REPLICAS, timeoutMs: config.PRODUCER_DURABLE_TIMEOUT_MS } : undefined,
    redisTopology: redisTopologyOf(config),
  };
}
