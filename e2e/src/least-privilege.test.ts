/**
 * The whole stack as the least-privilege Redis users of deploy/redis/users.acl (the README
 * prints the same lines), over TLS with a CA and server certificate made here with openssl:
 * jobs run end to end, Redis' ACL LOG shows no command of the apps refused, and each user is
 * refused FLUSHALL, CONFIG SET and keys outside the prefix. Without openssl or a TLS-enabled
 * redis-server, the ACL part runs over plain TCP and the TLS part is skipped, saying why.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, waitFor, type RedisServerHandle } from '@conveyor/shared/testing';
import { aclApps as apps, aclRefusals, writeAclUsers, type AclUsers } from './acl-users.ts';
import { getJson, postJson, repoRoot, startStack, type Stack } from './stack.ts';
import { makeCertificates } from './tls-certificates.ts';

let dir: string;
let users: AclUsers;
let server: RedisServerHandle;
let tls: { ca: string; skipped?: string } | undefined;
let stack: Stack | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'conveyor-acl-'));
  users = writeAclUsers(dir);
  const aclArgs = ['--aclfile', users.path];

  const certificates = makeCertificates(dir);
  if (certificates.ok) {
    const tlsArgs = ['--tls-cert-file', certificates.certFile, '--tls-key-file', certificates.keyFile, '--tls-ca-cert-file', certificates.caFile, '--tls-auth-clients', 'no'];
    try {
      // `--port 0` turns plain TCP off: the apps can only have connected over TLS.
      server = await startRedisServer({ tlsPort: 0, extraArgs: [...aclArgs, ...tlsArgs, '--port', '0'] });
      tls = { ca: certificates.caFile };
    } catch (error) {
      tls = { ca: '', skipped: `redis-server did not start with --tls-port (built without TLS?): ${(error as Error).message.split('\n')[0]}` };
    }
  } else {
    tls = { ca: '', skipped: certificates.why };
  }
  if (tls.skipped) {
    console.warn(`TLS part skipped: ${tls.skipped}`);
    server = await startRedisServer({ extraArgs: aclArgs });
  }

  const redisEnv: Record<string, string> = tls.skipped
    ? { REDIS_URL: server.url }
    : { REDIS_URL: `redis://127.0.0.1:${server.tlsPort}`, REDIS_TLS: 'true', REDIS_TLS_CA_FILE: tls.ca, REDIS_TLS_SERVERNAME: 'localhost' };
  stack = await startStack(
    { ...redisEnv, CONVEYOR_PREFIX: 'conveyor', EMAIL_LATENCY_MS: '0', REPORT_STEP_DELAY_MS: '20', WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' },
    users.appEnv,
  );
}, 90_000);

afterAll(async () => {
  // Everything is stopped before the exit codes are asserted, so a crashed app leaves no redis-server behind.
  const exits = await stack?.stop();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (exits) expect(exits).toEqual({ producer: 0, worker: 0, dashboard: 0 });
});

/** A client of the test's Redis as `username`, over TLS when the stack uses it. */
function connect(username: string, password: string): Redis {
  const options: RedisOptions = { username, password, maxRetriesPerRequest: 1, lazyConnect: true };
  const redis = tls?.skipped
    ? new Redis({ ...options, port: server.port, host: '127.0.0.1' })
    : new Redis({ ...options, port: server.tlsPort!, host: '127.0.0.1', tls: { ca: readFileSync(tls!.ca, 'utf8'), servername: 'localhost' } });
  redis.on('error', () => {});
  return redis;
}

describe('least-privilege Redis users over TLS', () => {
  it('runs jobs end to end as the ACL users of deploy/redis/users.acl, with no command refused', async () => {
    const created = await postJson(`${stack!.producerUrl}/v1/jobs/email.send`, { data: { to: 'ada@example.com', subject: 'Hi', body: 'Hello' } }, { 'idempotency-key': 'acl-1' });
    expect(created.status).toBe(201);
    const bulk = await postJson(`${stack!.producerUrl}/v1/jobs:bulk`, { jobs: [{ name: 'report.generate', data: { reportId: 'r-acl', rows: 10 } }] });
    expect(bulk.status).toBe(201);
    await waitFor(async () => (await getJson(`${stack!.producerUrl}/v1/jobs/email.send/${created.body.id}`)).body.state === 'completed', { what: 'email.send to complete', timeoutMs: 20_000 });
    const reportId = bulk.body.jobs[0].id;
    await waitFor(async () => (await getJson(`${stack!.producerUrl}/v1/jobs/report.generate/${reportId}`)).body.state === 'completed', { what: 'report.generate to complete', timeoutMs: 20_000 });
    for (const path of ['/api/queues', '/api/workers', '/api/dead-letters', '/metrics', '/']) {
      expect((await fetch(`${stack!.dashboardUrl}${path}`)).status, path).toBe(200);
    }
    expect((await fetch(`${stack!.workerUrl}/healthz`)).status).toBe(200);

    const admin = connect(users.admin.username, users.admin.password);
    try {
      expect(await aclRefusals(admin)).toEqual([]);
      const users = ((await admin.client('LIST')) as string).match(/user=conveyor-\w+/g) ?? [];
      expect(new Set(users)).toEqual(new Set(apps.map((app) => `user=conveyor-${app}`)));
      if (!tls!.skipped) expect(await admin.config('GET', 'port')).toEqual(['port', '0']);
    } finally {
      admin.disconnect();
    }
  });

  it.each(apps)('refuses the %s user FLUSHALL, CONFIG SET and keys outside the prefix', async (app) => {
    const redis = connect(`conveyor-${app}`, users.passwords[app]);
    try {
      await expect(redis.flushall()).rejects.toThrow(/NOPERM/);
      await expect(redis.config('SET', 'maxmemory-policy', 'allkeys-lru')).rejects.toThrow(/NOPERM/);
      await expect(redis.set('elsewhere:key', '1')).rejects.toThrow(/NOPERM/);
      await expect(redis.set('conveyor:acl-probe', '1')).resolves.toBe('OK');
      expect(await redis.info('memory')).toMatch(/maxmemory_policy:noeviction/);
    } finally {
      redis.disconnect();
    }
  });

  it('is the ACL the README shows', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    for (const line of users.template.trim().split('\n')) expect(readme).toContain(line);
  });

  it('reports whether it ran over TLS', () => {
    if (tls!.skipped) console.warn(`ran over plain TCP: ${tls!.skipped}`);
    else expect(existsSync(tls!.ca)).toBe(true);
  });
});

