import { ConfigError } from '@conveyor/shared';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatPasswordHash, hashPassword, parsePasswordHash, verifyPassword } from './access/password-hash.ts';
import { loadDashboardConfig } from './config.ts';
import { chooseListenHost } from './listen-host.ts';

describe('dashboard config', () => {
  it('defaults to port 3001, a 1 s Redis deadline and a 5 s refresh', () => {
    expect(loadDashboardConfig({})).toMatchObject({
      PORT: 3001,
      REDIS_COMMAND_TIMEOUT_MS: 1_000,
      DASHBOARD_REFRESH_MS: 5_000,
      DASHBOARD_STREAM_MAX_AGE_MS: 600_000,
      CONVEYOR_PREFIX: 'conveyor',
      HOST: '127.0.0.1',
      redisTopology: { kind: 'standalone', host: '127.0.0.1', port: 6379 },
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

describe('dashboard access config', () => {
  it('parses DASHBOARD_USERS into users with roles and hashes, and the session defaults', async () => {
    const hash = await hashPassword('correct horse', { N: 1_024 });
    const config = loadDashboardConfig({ DASHBOARD_USERS: `ada:operator:${hash}, bob:viewer:${hash}` });
    expect(config.DASHBOARD_USERS.map((u) => [u.name, u.role])).toEqual([['ada', 'operator'], ['bob', 'viewer']]);
    expect(await verifyPassword('correct horse', config.DASHBOARD_USERS[0]!.hash)).toBe(true);
    expect(await verifyPassword('wrong horse', config.DASHBOARD_USERS[0]!.hash)).toBe(false);
    expect(config).toMatchObject({ DASHBOARD_SESSION_SECRET: '', DASHBOARD_SESSION_TTL_SEC: 28_800, DASHBOARD_COOKIE_SECURE: 'auto' });
    expect(loadDashboardConfig({}).DASHBOARD_USERS).toEqual([]);
  });

  it('names each bad user entry by position and name, and never echoes a hash or the secret', async () => {
    const hash = await hashPassword('correct horse', { N: 1_024 });
    let thrown: unknown;
    try {
      loadDashboardConfig({
        DASHBOARD_USERS: `ada:admin:${hash}, bob:viewer:scrypt$3$8$1$c2FsdA==$a2V5, ada:viewer:${hash}, nocolons`,
        DASHBOARD_SESSION_SECRET: 'short-secret',
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const message = (thrown as ConfigError).message;
    expect(message).toContain('entry 1 (ada): the role must be viewer or operator');
    expect(message).toMatch(/entry 2 \(bob\): the password hash is malformed: N must be/);
    expect(message).toContain('entry 3 (ada): the user name is given twice');
    expect(message).toContain('entry 4: expected name:role:hash');
    expect(message).toMatch(/DASHBOARD_SESSION_SECRET: expected at least 32 characters .*\(value hidden\)/);
    expect(message).not.toContain(hash.split('$')[5]!);
    expect(message).not.toContain('a2V5');
    expect(message).not.toContain('short-secret');
  });

  it('hashes in the documented format, with a fresh salt each time', async () => {
    const [a, b] = await Promise.all([hashPassword('same password'), hashPassword('same password')]);
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    expect(a).not.toBe(b);
    expect(formatPasswordHash(parsePasswordHash(a))).toBe(a);
  });
});

describe('dashboard listen host', () => {
  it('binds loopback instead of a public HOST without users, with a warning; HOST as given with users', () => {
    expect(chooseListenHost({ host: '0.0.0.0', usersConfigured: false })).toMatchObject({ host: '127.0.0.1', warning: expect.stringContaining('DASHBOARD_USERS is not set') });
    expect(chooseListenHost({ host: '::1', usersConfigured: false })).toMatchObject({ host: '::1', warning: expect.any(String) });
    expect(chooseListenHost({ host: '0.0.0.0', usersConfigured: true })).toEqual({ host: '0.0.0.0' });
  });
});

describe('dashboard users from docker-compose', () => {
  it("reads the hash with Compose v1's doubled `$$` as well as with single `$`", async () => {
    const hash = await hashPassword('conveyor-dev', { N: 1_024 });
    const doubled = loadDashboardConfig({ DASHBOARD_USERS: `admin:operator:${hash.replaceAll('$', '$$')}` });
    expect(await verifyPassword('conveyor-dev', doubled.DASHBOARD_USERS[0]!.hash)).toBe(true);
  });

  it('gives the compose dashboard a development user whose password is conveyor-dev', async () => {
    const compose = readFileSync(fileURLToPath(new URL('../../docker-compose.yml', import.meta.url)), 'utf8');
    const fallback = /DASHBOARD_USERS: "\$\{DASHBOARD_USERS:-([^}]+)\}"/.exec(compose)?.[1];
    expect(fallback).toMatch(/^admin:operator:scrypt\$\$/);
    const [user] = loadDashboardConfig({ DASHBOARD_USERS: fallback! }).DASHBOARD_USERS;
    expect(await verifyPassword('conveyor-dev', user!.hash)).toBe(true);
  });
});

describe('dashboard autoscale targets', () => {
  it('defaults to 0.7 utilization and a 300 s drain, and reads both from the environment', () => {
    expect(loadDashboardConfig({})).toMatchObject({ DASHBOARD_AUTOSCALE_TARGET_UTILIZATION: 0.7, DASHBOARD_AUTOSCALE_DRAIN_SEC: 300 });
    expect(loadDashboardConfig({ DASHBOARD_AUTOSCALE_TARGET_UTILIZATION: ' 0.85 ', DASHBOARD_AUTOSCALE_DRAIN_SEC: '120' })).toMatchObject({
      DASHBOARD_AUTOSCALE_TARGET_UTILIZATION: 0.85,
      DASHBOARD_AUTOSCALE_DRAIN_SEC: 120,
    });
    expect(loadDashboardConfig({ DASHBOARD_AUTOSCALE_TARGET_UTILIZATION: '1' }).DASHBOARD_AUTOSCALE_TARGET_UTILIZATION).toBe(1);
    expect(loadDashboardConfig({ DASHBOARD_AUTOSCALE_TARGET_UTILIZATION: '.5' }).DASHBOARD_AUTOSCALE_TARGET_UTILIZATION).toBe(0.5);
  });

  it.each([
    ['DASHBOARD_AUTOSCALE_TARGET_UTILIZATION', '0', /above 0 and at most 1/],
    ['DASHBOARD_AUTOSCALE_TARGET_UTILIZATION', '1.5', /above 0 and at most 1/],
    ['DASHBOARD_AUTOSCALE_TARGET_UTILIZATION', '70%', /above 0 and at most 1/],
    ['DASHBOARD_AUTOSCALE_TARGET_UTILIZATION', '-0.5', /above 0 and at most 1/],
    ['DASHBOARD_AUTOSCALE_DRAIN_SEC', '0', />=1/],
    ['DASHBOARD_AUTOSCALE_DRAIN_SEC', '5m', /expected an integer between 1 and 86400/],
  ])('refuses %s=%s, naming the variable and the value', (variable, value, message) => {
    let thrown: unknown;
    try {
      loadDashboardConfig({ [variable]: value });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const problems = (thrown as ConfigError).problems;
    expect(problems.map((p) => p.variable)).toEqual([variable]);
    expect(problems[0]!.message).toMatch(message);
    expect((thrown as ConfigError).message).toContain(`${variable}: `);
    expect((thrown as ConfigError).message).toContain(JSON.stringify(value));
  });
});
