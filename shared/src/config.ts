/**
 * Configuration from the environment, parsed once at start-up through zod.
 *
 * Every app's own `config.ts` composes `baseEnvSchema` with its variables and calls
 * `loadConfig(schema, process.env)`. A bad environment fails start-up with ONE error that
 * names every bad variable and what was expected, never a crash deep inside the app.
 */
import { z } from 'zod';
import { parsePayloadKeys, PayloadKeysError } from './payload-crypto/payload-keys.ts';

/** Variables whose values are secrets: a ConfigError names them but never echoes their value. */
const SECRET_VARIABLES = new Set(['PAYLOAD_ENCRYPTION_KEYS', 'WEBHOOK_SIGNING_SECRET', 'PRODUCER_API_KEYS', 'DASHBOARD_USERS', 'DASHBOARD_SESSION_SECRET']);

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
  /** Where Redis is; rediss:// for TLS. Default redis://127.0.0.1:6379. */
  REDIS_URL: z
    .string()
    .trim()
    .default('redis://127.0.0.1:6379')
    .refine((s) => /^rediss?:\/\/[^\s]+$/.test(s) && URL.canParse(s), {
      message: 'expected a redis:// or rediss:// URL such as redis://127.0.0.1:6379',
    }),
  /** The key prefix every Conveyor and BullMQ key lives under. Default `conveyor`. */
  CONVEYOR_PREFIX: z
    .string()
    .trim()
    .default('conveyor')
    .refine((s) => /^[A-Za-z0-9_.{}-]{1,64}$/.test(s), {
      message: 'expected 1-64 characters of letters, digits, _ . - { }',
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

export const baseEnvSchema = z.object(baseEnvShape);
export type BaseConfig = z.output<typeof baseEnvSchema>;
