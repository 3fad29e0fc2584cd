/** The dashboard's configuration: the shared variables plus its own, read once at start-up. */
import { baseEnvShape, envInt, loadConfig } from '@conveyor/shared';
import { z } from 'zod';

export const dashboardEnvSchema = z.object({
  ...baseEnvShape,
  /** TCP port of the dashboard's HTTP server. Default 3001; 0 picks a free one. */
  PORT: envInt(3001, { min: 0, max: 65_535 }),
  /** Longest wait for one Redis read before answering 503, in ms. Default 1,000. */
  REDIS_COMMAND_TIMEOUT_MS: envInt(1_000, { min: 10, max: 60_000 }),
  /** How often the overview page refreshes itself, in ms. Default 5,000. */
  DASHBOARD_REFRESH_MS: envInt(5_000, { min: 500, max: 3_600_000 }),
});

export type DashboardConfig = z.output<typeof dashboardEnvSchema>;

/** Parses the environment; throws a ConfigError naming every bad variable. */
export function loadDashboardConfig(
  env: Record<string, string | undefined> = process.env,
): DashboardConfig {
  return loadConfig(dashboardEnvSchema, env);
}
