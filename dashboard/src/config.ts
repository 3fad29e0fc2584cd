/** The dashboard's configuration: the shared variables plus its own, read once at start-up. */
import {
  baseEnvShape,
  checkRedisTopology,
  DEFAULT_AUTOSCALE_TARGETS,
  envInt,
  envParsed,
  loadConfig,
  redisTopologyOf,
  type RedisTopology,
} from '@conveyor/shared';
import { z } from 'zod';
import { DashboardUsersError, parseDashboardUsers } from './access/users.ts';
import { AlertRulesError, loadAlertRulesFile } from './alerts/alert-rules.ts';

/** A decimal variable above 0 and at most 1, such as `0.7`. */
function envFraction(defaultValue: number) {
  const expected = 'expected a decimal number above 0 and at most 1, such as 0.7';
  return z
    .string()
    .trim()
    .regex(/^(?:\d+(?:\.\d*)?|\.\d+)$/, expected)
    .transform(Number)
    .pipe(z.number().gt(0, expected).max(1, expected))
    .default(defaultValue);
}

export const dashboardEnvSchema = z.object({
  ...baseEnvShape,
  /** TCP port of the dashboard's HTTP server. Default 3001; 0 picks a free one. */
  PORT: envInt(3001, { min: 0, max: 65_535 }),
  /** Longest wait for one Redis read before answering 503, in ms. Default 1,000. */
  REDIS_COMMAND_TIMEOUT_MS: envInt(1_000, { min: 10, max: 60_000 }),
  /** How often the overview page refreshes itself, in ms. Default 5,000. */
  DASHBOARD_REFRESH_MS: envInt(5_000, { min: 500, max: 3_600_000 }),
  /** Who may sign in: `name:role:scrypt-hash`, comma-separated (access/users.ts). Default none: no-users mode, loopback only. */
  DASHBOARD_USERS: envParsed(parseDashboardUsers, DashboardUsersError),
  /**
   * Key that signs session cookies and derives CSRF tokens; every dashboard process sharing
   * sessions needs the same one. At least 32 characters. Default: random per process.
   */
  DASHBOARD_SESSION_SECRET: z
    .string()
    .default('')
    .refine((s) => s === '' || s.length >= 32, { message: 'expected at least 32 characters (e.g. openssl rand -base64 32)' }),
  /** How long a session lasts from sign-in, in s. Default 28,800 (8 h). */
  DASHBOARD_SESSION_TTL_SEC: envInt(28_800, { min: 60, max: 30 * 86_400 }),
  /** `Secure` on the session cookie: `auto` (when the request came over https), `true` or `false`. Default auto. */
  DASHBOARD_COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),
  /** Path of the alert rules JSON file (alerts/alert-rules.ts), parsed at start-up. Default none: no alerts. */
  DASHBOARD_ALERT_RULES_FILE: envParsed(loadAlertRulesFile, AlertRulesError),
  /** Time between alert evaluations, in ms. Default 15,000. */
  DASHBOARD_ALERT_INTERVAL_MS: envInt(15_000, { min: 1_000, max: 3_600_000 }),
  /** The dashboard's public base URL, linked from alert webhook messages. Default none. */
  DASHBOARD_PUBLIC_URL: z.union([z.literal(''), z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })]).default(''),
  /** Longest life of one overview event stream before the browser reconnects and is let in again, in ms. Default 600,000 (10 min). */
  DASHBOARD_STREAM_MAX_AGE_MS: envInt(600_000, { min: 10_000, max: 86_400_000 }),
  /**
   * conveyor_queue_recommended_workers (queue-model/recommended-workers.ts): the share of the job
   * slots it plans to keep busy in the steady state, above 0 and at most 1. Default 0.7.
   */
  DASHBOARD_AUTOSCALE_TARGET_UTILIZATION: envFraction(DEFAULT_AUTOSCALE_TARGETS.targetUtilization),
  /** conveyor_queue_recommended_workers: the time it plans to work off the backlog in, in s. Default 300. */
  DASHBOARD_AUTOSCALE_DRAIN_SEC: envInt(DEFAULT_AUTOSCALE_TARGETS.drainSec, { min: 1, max: 86_400 }),
}).superRefine(checkRedisTopology);

export type DashboardConfig = z.output<typeof dashboardEnvSchema> & {
  /** Where Redis is: REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES, with AUTH and TLS. */
  redisTopology: RedisTopology;
};

/** Parses the environment; throws a ConfigError naming every bad variable. */
export function loadDashboardConfig(
  env: Record<string, string | undefined> = process.env,
): DashboardConfig {
  const parsed = loadConfig(dashboardEnvSchema, env);
  return { ...parsed, redisTopology: redisTopologyOf(parsed) };
}
