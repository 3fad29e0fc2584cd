/**
 * Configuration from the environment, parsed once at start-up through zod.
 *
 * Every app's own `config.ts` composes `baseEnvSchema` with its variables and calls
 * `loadConfig(schema, process.env)`. A bad environment fails start-up with ONE error that
 * names every bad variable and what was expected, never a crash deep inside the app.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parsePayloadKeys, PayloadKeysError } from './payload-crypto/payload-keys.ts';
import { parseRedisEndpoints, redisTopologyFromEnv, type RedisTopology, type RedisTopologyEnv } from './redis-topology.ts';

/** Variables whose values are secrets: a ConfigError names them but never echoes their value. */
const SECRET_VARIABLES = new Set([
  'PAYLOAD_ENCRYPTION_KEYS', 'WEBHOOK_SIGNING_SECRET', 'PRODUCER_API_KEYS', 'DASHBOARD_USERS', 'DASHBOARD_SESSION_SECRET',
  'REDIS_URL', 'REDIS_PASSWORD', 'REDIS_SENTINEL_PASSWORD',
]);

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly { variable: string; message: string }[]) {
    super(
      `Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`,
    );
  }
}

/** Parses `env` with `schema`; throws a ConfigError naming every bad variable. */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const variable = issue.path.map(String).join('.') || '(environment)';
    const raw = typeof issue.path[0] === 'string' ? env[issue.path[0]] : undefined;
    const got = raw === undefined ? 'it is not set' : SECRET_VARIABLES.has(variable) ? 'value hidden' : `got ${JSON.stringify(raw)}`;
    return { variable, message: `${issue.message} (${got})` };
  });
  throw new ConfigError(problems);
}

/** An integer variable: `envInt(3000, { min: 0, max: 65535 })`. */
export function envInt(defaultValue: number, bounds: { min?: number; max?: number } = {}) {
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = bounds;
  return z
    .string()
    .trim()
    .regex(/^-?\d+$/, `expected an integer between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .default(defaultValue);
}

/** A comma-separated list variable, blank items dropped: `a, b,,c` → ['a','b','c']. */
export function envList(defaultValue = '') {
  return z
    .string()
    .default(defaultValue)
    .transform((s) =>
      s
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0),
    );
}

/** A boolean variable: `true`/`false` (also `1`/`0`, `yes`/`no`), any case. */
export function envBool(defaultValue: boolean) {
  return z
    .string()
    .trim()
    .toLowerCase()
    .refine((s) => ['true', 'false', '1', '0', 'yes', 'no'].includes(s), { message: 'expected true or false' })
    .transform((s) => s === 'true' || s === '1' || s === 'yes')
    .default(defaultValue);
}

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Variables every app reads. */
export const baseEnvShape = {
  // Redis topology, credentials and TLS: see redis-topology.ts and the README's "Redis topologies".
  /**
   * One Redis server: redis:// or rediss:// (TLS) URL, with optional user, password and
   * database. Default redis://127.0.0.1:6379 when neither REDIS_SENTINELS nor REDIS_CLUSTER_NODES is set.
   */
  REDIS_URL: z
    .string()
    .trim()
    .refine((s) => /^rediss?:\/\/[^\s]+$/.test(s) && URL.canParse(s) && /^\/?(\d+)?$/.test(new URL(s).pathname), {
      message: 'expected a redis:// or rediss:// URL such as redis://127.0.0.1:6379',
    })
    .optional(),
  /** Sentinels, `host:port,host:port` (port default 26379): Redis with automatic failover. Default none. */
  REDIS_SENTINELS: envEndpoints(26_379),
  /** The master group name the Sentinels monitor; required with REDIS_SENTINELS. */
  REDIS_SENTINEL_NAME: optionalText(/^[A-Za-z0-9_.:-]{1,128}$/, 'expected a master group name of letters, digits, _ . : -'),
  /** Redis Cluster seed nodes, `host:port,host:port` (port default 6379). Default none. */
  REDIS_CLUSTER_NODES: envEndpoints(6_379),
  /** ACL user of the data nodes (AUTH user password); with REDIS_PASSWORD. A REDIS_URL may carry its own instead. Default none. */
  REDIS_USERNAME: optionalText(/^[^\s]{1,256}$/, 'expected a user name without spaces'),
  /** Password of REDIS_USERNAME, or `requirepass` without a user. Default none. */
  REDIS_PASSWORD: optionalText(/^.{1,4096}$/s, 'expected 1-4096 characters'),
  /** ACL user of the Sentinels, when they require one. Default none. */
  REDIS_SENTINEL_USERNAME: optionalText(/^[^\s]{1,256}$/, 'expected a user name without spaces'),
  /** Password of the Sentinels (`requirepass` / REDIS_SENTINEL_USERNAME's). Default none. */
  REDIS_SENTINEL_PASSWORD: optionalText(/^.{1,4096}$/s, 'expected 1-4096 characters'),
  /** Connect to every node (Sentinels included) over TLS. Default false (true when REDIS_URL is rediss://). */
  REDIS_TLS: envBool(false),
  /** PEM file of the CA that signed Redis' certificate. Default: Node's trusted roots. */
  REDIS_TLS_CA_FILE: envFile(),
  /** PEM client certificate, for `tls-auth-clients yes`; with REDIS_TLS_KEY_FILE. Default none. */
  REDIS_TLS_CERT_FILE: envFile(),
  /** PEM private key of REDIS_TLS_CERT_FILE. Default none. */
  REDIS_TLS_KEY_FILE: envFile(),
  /** Name Redis' certificate must carry, when it differs from the host connected to. Default: that host. */
  REDIS_TLS_SERVERNAME: optionalText(/^[A-Za-z0-9.*-]{1,253}$/, 'expected a DNS name'),
  /**
   * The key prefix every Conveyor and BullMQ key lives under. Default `conveyor`. No braces:
   * Conveyor adds a Redis Cluster hash tag per queue after it (keys.ts).
   */
  CONVEYOR_PREFIX: z
    .string()
    .trim()
    .default('conveyor')
    .refine((s) => /^[A-Za-z0-9_.-]{1,64}$/.test(s), {
      message: 'expected 1-64 characters of letters, digits, _ . - (no braces: Conveyor adds a hash tag per queue)',
    }),
  LOG_LEVEL: z.enum(logLevels).default('info'),
  /** Interface the HTTP server binds to. Default 127.0.0.1 (loopback only). */
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  /**
   * Start even though Redis' maxmemory-policy is not `noeviction` (or cannot be read), with a
   * warning; for managed Redis services that hide or forbid the setting. Default false.
   */
  REDIS_ALLOW_EVICTION: envBool(false),
  /**
   * Days the queue model's per-minute history is kept. Workers write it and dashboards add
   * counter snapshots to it, so both read this. Default 7.
   */
  QUEUE_MODEL_HISTORY_DAYS: envInt(7, { min: 1, max: 366 }),
  /**
   * Keys that encrypt the catalog's sensitive payload fields: `keyId:base64(32 bytes)`, comma
   * separated; the first encrypts, all decrypt (rotation). Default empty: kinds with sensitive
   * fields cannot be enqueued, and sealed fields cannot be opened.
   */
  PAYLOAD_ENCRYPTION_KEYS: payloadEncryptionKeys(),
};

/**
 * A variable parsed by `parse` (default: empty text), whose `ProblemsError` is turned into one
 * config problem per entry: `envParsed(parseApiKeys, ApiKeysFormatError)`.
 */
export function envParsed<T>(parse: (text: string) => T, ProblemsError: new (...args: never[]) => Error & { problems: readonly string[] }) {
  return z
    .string()
    .default('')
    .transform((text, ctx) => {
      try {
        return parse(text);
      } catch (error) {
        if (!(error instanceof ProblemsError)) throw error;
        for (const problem of error.problems) ctx.addIssue({ code: 'custom', message: problem });
        return z.NEVER;
      }
    });
}

/** `PAYLOAD_ENCRYPTION_KEYS`, parsed into the keyring (`parsePayloadKeys`). */
function payloadEncryptionKeys() {
  return envParsed(parsePayloadKeys, PayloadKeysError);
}

/**
 * An optional variable turned into a value by `parse` (which throws on bad text); unset or blank
 * means undefined, and a throw becomes this variable's config problem, worded by `problem`.
 */
function envOptional<T>(parse: (text: string) => T, problem: (error: Error) => string = (error) => error.message) {
  return z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined || text.trim() === '') return undefined;
      try {
        return parse(text.trim());
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: problem(error as Error) });
        return z.NEVER;
      }
    });
}

/** A `host:port,host:port` list variable; unset or blank means none. */
function envEndpoints(defaultPort: number) {
  return envOptional((text) => parseRedisEndpoints(text, defaultPort));
}

/** An optional text variable matching `pattern`; blank means unset. */
function optionalText(pattern: RegExp, message: string) {
  return z
    .string()
    .optional()
    .transform((text) => (text === undefined || text.trim() === '' ? undefined : text.trim()))
    .refine((text) => text === undefined || pattern.test(text), { message });
}

/** A file path variable, read at start-up: `{ path, text }`; a file that cannot be read is a config problem. */
function envFile() {
  return envOptional(
    (path) => ({ path, text: readFileSync(path, 'utf8') }),
    (error) => `cannot read the file: ${(error as NodeJS.ErrnoException).code ?? error.message}`,
  );
}

/**
 * The rules between the Redis variables (one topology, REDIS_SENTINEL_NAME with REDIS_SENTINELS,
 * TLS files only with TLS…), as a zod check: every app's schema ends with
 * `.superRefine(checkRedisTopology)` so that its ConfigError lists these problems beside the others.
 */
export function checkRedisTopology(values: RedisTopologyEnv, ctx: z.RefinementCtx): void {
  const { problems } = redisTopologyFromEnv(values);
  for (const problem of problems ?? []) {
    if (!problem.fieldLevel) ctx.addIssue({ code: 'custom', path: [problem.variable], message: problem.message });
  }
}

/** The Redis topology of a parsed config; throws a ConfigError when the Redis variables conflict. */
export function redisTopologyOf(config: RedisTopologyEnv): RedisTopology {
  const result = redisTopologyFromEnv(config);
  if (result.problems) throw new ConfigError(result.problems.map(({ variable, message }) => ({ variable, message })));
  return result.topology;
}

export const baseEnvSchema = z.object(baseEnvShape).superRefine(checkRedisTopology);
export type BaseConfig = z.output<typeof baseEnvSchema>;
