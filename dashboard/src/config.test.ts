import { ConfigError } from '@conveyor/shared';
import { describe, expect, it } from 'vitest';
import { loadDashboardConfig } from './config.ts';

describe('dashboard config', () => {
  it('defaults to port 3001, a 1 s Redis deadline and a 5 s refresh', () => {
    expect(loadDashboardConfig({})).toMatchObject({
      PORT: 3001,
      REDIS_COMMAND_TIMEOUT_MS: 1_000,
      DASHBOARD_REFRESH_MS: 5_000,
      REDIS_URL: 'redis://127.0.0.1:6379',
      CONVEYOR_PREFIX: 'conveyor',
      HOST: '127.0.0.1',
    });
  });

  it('reads its variables from the environment', () => {
    const config = loadDashboardConfig({
      PORT: '8080',
      REDIS_COMMAND_TIMEOUT_MS: '250',
      DASHBOARD_REFRESH_MS: '10000',
      HOST: '0.0.0.0',
    });
    expect(config).toMatchObject({ PORT: 8080, REDIS_COMMAND_TIMEOUT_MS: 250, DASHBOARD_REFRESH_MS: 10_000, HOST: '0.0.0.0' });
  });

  it('names every bad variable in one error', () => {
    let thrown: unknown;
    try {
      loadDashboardConfig({ PORT: '70000', REDIS_COMMAND_TIMEOUT_MS: 'soon', DASHBOARD_REFRESH_MS: '-1' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const variables = (thrown as ConfigError).problems.map((p) => p.variable).sort();
    expect(variables).toEqual(['DASHBOARD_REFRESH_MS', 'PORT', 'REDIS_COMMAND_TIMEOUT_MS']);
  });
});
