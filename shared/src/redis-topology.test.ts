import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { baseEnvSchema, ConfigError, loadConfig, redisTopologyOf } from './config.ts';
import { redisConnectionOptions, redisClusterOptions } from './redis.ts';
import { describeRedisTopology, parseRedisEndpoints } from './redis-topology.ts';

const dir = mkdtempSync(join(tmpdir(), 'conveyor-topology-'));
const pem = join(dir, 'ca.pem');
writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const topology = (env: Record<string, string>) => redisTopologyOf(loadConfig(baseEnvSchema, env));
function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(baseEnvSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.variable}: ${p.message}`);
    throw error;
  }
  return [];
}

describe('the Redis topology from the environment', () => {
  it('is one local server by default', () => {
    expect(topology({})).toEqual({ kind: 'standalone', host: '127.0.0.1', port: 6379, auth: {} });
  });

  it('reads REDIS_URL with its credentials, database and rediss:// TLS', () => {
    expect(topology({ REDIS_URL: 'rediss://app:s%3Acret@cache:6380/2' })).toEqual({
      kind: 'standalone', host: 'cache', port: 6380, db: 2, auth: { username: 'app', password: 's:cret' }, tls: { servername: 'cache' },
    });
  });

  it('takes REDIS_USERNAME / REDIS_PASSWORD for a URL without credentials, and refuses both', () => {
    expect(topology({ REDIS_URL: 'redis://h:1', REDIS_USERNAME: 'producer', REDIS_PASSWORD: 'pw' }).auth).toEqual({ username: 'producer', password: 'pw' });
    expect(problems({ REDIS_URL: 'redis://u:p@h:1', REDIS_PASSWORD: 'pw' })).toEqual([expect.stringMatching(/^REDIS_PASSWORD: REDIS_URL carries credentials already/)]);
    expect(problems({ REDIS_USERNAME: 'producer' })).toEqual([expect.stringMatching(/^REDIS_PASSWORD: required with REDIS_USERNAME/)]);
  });

  it('reads a Sentinel set with its master name and both sets of credentials', () => {
    const t = topology({
      REDIS_SENTINELS: '10.0.0.1:26379, 10.0.0.2, [::1]:26380',
      REDIS_SENTINEL_NAME: 'conveyor',
      REDIS_USERNAME: 'worker', REDIS_PASSWORD: 'pw',
      REDIS_SENTINEL_USERNAME: 'sentinel-user', REDIS_SENTINEL_PASSWORD: 'spw',
    });
    expect(t).toEqual({
      kind: 'sentinel',
      sentinels: [{ host: '10.0.0.1', port: 26379 }, { host: '10.0.0.2', port: 26379 }, { host: '::1', port: 26380 }],
      name: 'conveyor',
      auth: { username: 'worker', password: 'pw' },
      sentinelAuth: { username: 'sentinel-user', password: 'spw' },
    });
    expect(describeRedisTopology(t)).toBe('sentinel "conveyor" via 10.0.0.1:26379,10.0.0.2:26379,[::1]:26380 as worker');
    const options = redisConnectionOptions({ topology: t, mode: 'wait-out' });
    expect(options).toMatchObject({ name: 'conveyor', role: 'master', failoverDetector: false, sentinelPassword: 'spw', password: 'pw', maxRetriesPerRequest: null });
    expect(options.host).toBeUndefined();
  });

  it('reads cluster seed nodes, with TLS from REDIS_TLS and its files', () => {
    const t = topology({ REDIS_CLUSTER_NODES: 'n1:7000,n2:7001', REDIS_TLS: 'true', REDIS_TLS_CA_FILE: pem, REDIS_TLS_SERVERNAME: 'redis.internal', REDIS_PASSWORD: 'pw' });
    expect(t).toMatchObject({ kind: 'cluster', nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }], auth: { password: 'pw' }, tls: { servername: 'redis.internal' } });
    expect(t.tls?.ca).toContain('BEGIN CERTIFICATE');
    expect(describeRedisTopology(t)).toBe('cluster via n1:7000,n2:7001 with a password, TLS (own CA)');
    expect(describeRedisTopology(t)).not.toContain('pw');
    expect(() => redisConnectionOptions({ topology: t, mode: 'fail-fast' })).toThrow(/bullConnection/);
    const cluster = redisClusterOptions({ topology: t, mode: 'fail-fast' });
    expect(cluster.options).toMatchObject({ enableOfflineQueue: false, redisOptions: { password: 'pw', maxRetriesPerRequest: 1, tls: { servername: 'redis.internal' } } });
  });

  it('names every conflicting or incomplete variable in one error', () => {
    expect(problems({ REDIS_SENTINELS: 'a:1', REDIS_CLUSTER_NODES: 'b:2', REDIS_URL: 'redis://c:3' }).sort()).toEqual([
      expect.stringMatching(/^REDIS_CLUSTER_NODES: set either REDIS_SENTINELS .* or REDIS_CLUSTER_NODES/),
      expect.stringMatching(/^REDIS_SENTINEL_NAME: required with REDIS_SENTINELS/),
      expect.stringMatching(/^REDIS_URL: set either REDIS_URL .* or REDIS_CLUSTER_NODES/),
      expect.stringMatching(/^REDIS_URL: set either REDIS_URL .* or REDIS_SENTINELS/),
    ]);
    expect(problems({ REDIS_SENTINEL_NAME: 'x' })).toEqual([expect.stringMatching(/^REDIS_SENTINEL_NAME: only means something with REDIS_SENTINELS/)]);
    expect(problems({ REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_NAME: 'x', REDIS_SENTINEL_USERNAME: 'u' })).toEqual([expect.stringMatching(/^REDIS_SENTINEL_PASSWORD: required/)]);
  });

  it('refuses TLS files without TLS, half a client certificate, unreadable files and bad values', () => {
    expect(problems({ REDIS_TLS_CA_FILE: pem })).toEqual([expect.stringMatching(/^REDIS_TLS_CA_FILE: TLS is off/)]);
    expect(problems({ REDIS_TLS: 'true', REDIS_TLS_CERT_FILE: pem })).toEqual([expect.stringMatching(/^REDIS_TLS_KEY_FILE: a client certificate needs both/)]);
    expect(problems({ REDIS_TLS: 'true', REDIS_TLS_CA_FILE: join(dir, 'missing.pem') })).toEqual([expect.stringMatching(/^REDIS_TLS_CA_FILE: cannot read the file: ENOENT/)]);
    expect(problems({ REDIS_TLS: 'maybe' })).toEqual([expect.stringMatching(/^REDIS_TLS: expected true or false/)]);
    expect(problems({ REDIS_SENTINELS: 'a:99999', REDIS_SENTINEL_NAME: 'x' })).toEqual([expect.stringMatching(/^REDIS_SENTINELS: "a:99999" is not host:port/)]);
    expect(problems({ REDIS_CLUSTER_NODES: ' , ' })).toEqual([expect.stringMatching(/^REDIS_CLUSTER_NODES: expected at least one host:port/)]);
    expect(problems({ REDIS_TLS: 'true', REDIS_TLS_SERVERNAME: 'bad name' })).toEqual([expect.stringMatching(/^REDIS_TLS_SERVERNAME: expected a DNS name/)]);
    expect(problems({ REDIS_USERNAME: 'has space', REDIS_PASSWORD: 'x' })).toEqual([expect.stringMatching(/^REDIS_USERNAME: expected a user name/)]);
  });

  it('never echoes a password or a URL in a config error', () => {
    const message = (() => { try { loadConfig(baseEnvSchema, { REDIS_URL: 'redis://u:hunter2@h:1/x', REDIS_PASSWORD: '' }); } catch (e) { return (e as Error).message; } return ''; })();
    expect(message).toMatch(/REDIS_URL/);
    expect(message).not.toContain('hunter2');
  });

  it('parses endpoint lists with default ports', () => {
    expect(parseRedisEndpoints('h', 26379)).toEqual([{ host: 'h', port: 26379 }]);
    expect(() => parseRedisEndpoints('', 1)).toThrow(/at least one/);
  });
});
