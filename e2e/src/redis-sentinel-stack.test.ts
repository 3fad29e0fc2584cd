/**
 * The whole stack on Redis Sentinel the test starts itself (a master, a replica and three
 * Sentinels from Debian's redis-server), TLS only everywhere (clients, replication, the
 * Sentinels' links; plain ports off; a CA and certificate made with openssl here), the data
 * nodes loading deploy/redis/users.acl with the default user off. Each app connects as its
 * own least-privilege user with REDIS_SENTINELS, REDIS_SENTINEL_NAME, REDIS_TLS and the CA.
 * Checks one job's whole path with no command refused, and that the stack follows the master's
 * SIGKILL to the promoted replica over TLS without a restart. Without openssl the set runs over
 * plain TCP, saying so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSentinelSet, waitFor, type SentinelSet } from '@conveyor/shared/testing';
import { aclApps as apps, aclRefusals, writeAclUsers, type AclUsers } from './acl-users.ts';
import { postJson, startStack, waitForJobState, type Stack } from './stack.ts';
import { makeCertificates } from './tls-certificates.ts';

let dir: string;
let users: AclUsers;
let set: SentinelSet;
let stack: Stack;
let overTls = false;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'conveyor-sentinel-stack-'));
  users = writeAclUsers(dir);
  const certificates = makeCertificates(dir);
  if (!certificates.ok) console.warn(`the Sentinel set runs over plain TCP: ${certificates.why}`);
  overTls = certificates.ok;
  const tls = certificates.ok ? { certFile: certificates.certFile, keyFile: certificates.keyFile, caFile: certificates.caFile } : undefined;
  set = await startSentinelSet({
    downAfterMs: 1_000,
    dataNodeArgs: ['--aclfile', users.path],
    // The admin user stands in for what Sentinels and the replica need on the data nodes.
    replicationAuth: users.admin,
    ...(tls ? { tls } : {}),
  });
  stack = await startStack(
    {
      REDIS_SENTINELS: set.sentinelsEnv,
      REDIS_SENTINEL_NAME: set.name,
      ...(tls ? { REDIS_TLS: 'true', REDIS_TLS_CA_FILE: tls.caFile, REDIS_TLS_SERVERNAME: 'localhost' } : {}),
      CONVEYOR_PREFIX: 'conveyor',
      EMAIL_LATENCY_MS: '0',
      REPORT_STEP_DELAY_MS: '10',
    },
    users.appEnv,
  );
}, 60_000);

afterAll(async () => {
  const codes = stack ? await stack.stop() : undefined;
  await set?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (codes) expect(codes).toEqual({ producer: 0, worker: 0, dashboard: 0 });
});

/** An admin client of a data node. */
function adminOf(port: number): Redis {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, ...set.clientOptions, ...users.admin });
  client.on('error', () => {});
  return client;
}

const waitForState = (name: string, id: string, state: string, timeoutMs = 20_000) => waitForJobState(stack.producerUrl, name, id, state, { timeoutMs });

describe('the whole stack on Redis Sentinel, TLS only, as the least-privilege users', () => {
  it('runs jobs POSTed over HTTP and shows them on the dashboard, with no command refused and no plain port open', async () => {
    const mail = await postJson(`${stack.producerUrl}/v1/jobs/email.send`, { data: { to: 'ada@example.com', subject: 'Hi', body: 'Hello' } });
    const report = await postJson(`${stack.producerUrl}/v1/jobs/report.generate`, { data: { reportId: 'rpt_sentinel', rows: 10 } });
    expect([mail.status, report.status]).toEqual([201, 201]);
    await waitForState('email.send', mail.body.id, 'completed');
    await waitForState('report.generate', report.body.id, 'completed');
    for (const page of ['/api/queues', '/api/workers', '/api/dead-letters', '/metrics', '/']) expect((await fetch(`${stack.dashboardUrl}${page}`)).status, page).toBe(200);

    const master = adminOf(set.clientPort(set.master));
    try {
      expect(await aclRefusals(master)).toEqual([]);
      const connected = ((await master.client('LIST')) as string).match(/user=conveyor-\w+/g) ?? [];
      expect(new Set(connected)).toEqual(new Set(apps.map((app) => `user=conveyor-${app}`)));
      if (overTls) expect(await master.config('GET', 'port')).toEqual(['port', '0']);
    } finally {
      master.disconnect();
    }
  });

  it('follows the master’s SIGKILL to the promoted replica, over TLS, with no app restarted', async () => {
    const master = adminOf(set.clientPort(set.master));
    try {
      await waitFor(() => master.wait(1, 100).then((n) => n === 1), { what: 'the replica to catch up' });
    } finally {
      master.disconnect();
    }
    set.master.process.kill('SIGKILL');
    await new Promise((resolve) => set.master.process.once('exit', resolve));
    await waitFor(async () => (await set.masterPort()) === set.clientPort(set.replica), { what: 'the Sentinels to promote the replica', timeoutMs: 20_000 });

    const created = await waitFor(
      async () => {
        const res = await postJson(`${stack.producerUrl}/v1/jobs/email.send`, { data: { to: 'after@example.com', subject: 'S', body: 'B' } }, { 'idempotency-key': 'after-sentinel-failover' });
        return res.status === 201 || res.status === 200 ? res : undefined;
      },
      { what: 'an enqueue to succeed after the failover', timeoutMs: 30_000, intervalMs: 250 },
    );
    await waitForState('email.send', created.body.id, 'completed', 30_000);
    const promoted = adminOf(set.clientPort(set.replica));
    try {
      expect(/^role:master/m.test(await promoted.info('replication'))).toBe(true);
    } finally {
      promoted.disconnect();
    }
    expect(stack.apps.worker.child.exitCode).toBeNull();
    expect(stack.apps.producer.child.exitCode).toBeNull();
  }, 90_000);
});
