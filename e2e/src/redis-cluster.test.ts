/**
 * The whole stack on a Redis Cluster the test starts itself: three masters with a replica each,
 * from Debian's redis-server and redis-cli, on loopback, every node loading deploy/redis/users.acl
 * (default user off) and speaking TLS only (clients, cluster bus and replication; a CA and
 * certificate made with openssl here). Each app connects as its own least-privilege user with
 * only REDIS_CLUSTER_NODES, REDIS_TLS and the CA. Without openssl the cluster runs over plain
 * TCP, saying so. Checks that one job's whole path works with no command refused, that
 * every key of a queue sits in that queue's hash slot while the queues spread over the shards,
 * that the steps spanning two queues (topic fan-out, a mixed bulk, dead-lettering and redrive)
 * work across shards, and that the stack follows a master's failover without a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueKeyBase } from '@conveyor/shared';
import { startRedisCluster, waitFor, type RedisCluster } from '@conveyor/shared/testing';
import { aclApps as apps, aclRefusals, writeAclUsers, type AclUsers } from './acl-users.ts';
import { getJson, postJson, startStack, waitForJobState, type Stack } from './stack.ts';
import { startWebhookReceiver, type WebhookReceiver } from './browser/webhook-receiver.ts';
import { makeCertificates } from './tls-certificates.ts';

let aclDir: string;
let users: AclUsers;
let tlsEnv: Record<string, string>;

let cluster: RedisCluster;
let stack: Stack;
let prefix: string;
let crm: WebhookReceiver;
let crmUrl: string;
let crmBodies: string[];

beforeAll(async () => {
  aclDir = mkdtempSync(join(tmpdir(), 'conveyor-cluster-acl-'));
  users = writeAclUsers(aclDir);
  const certificates = makeCertificates(aclDir);
  if (!certificates.ok) console.warn(`the cluster runs over plain TCP: ${certificates.why}`);
  const tls = certificates.ok ? { certFile: certificates.certFile, keyFile: certificates.keyFile, caFile: certificates.caFile } : undefined;
  cluster = await startRedisCluster({
    masters: 3,
    replicasPerMaster: 1,
    // The admin user stands in for what the cluster itself needs: replicas syncing, redis-cli.
    nodeArgs: ['--aclfile', users.path, '--masteruser', users.admin.username, '--masterauth', users.admin.password],
    auth: users.admin,
    ...(tls ? { tls } : {}),
  });
  tlsEnv = tls ? { REDIS_TLS: 'true', REDIS_TLS_CA_FILE: tls.caFile, REDIS_TLS_SERVERNAME: 'localhost' } : {};
  crm = await startWebhookReceiver();
  crmBodies = crm.bodies;
  crmUrl = new URL(crm.url).origin;
  // The cluster is this file's own, and the ACL allows keys under `conveyor:` only.
  prefix = 'conveyor';
  stack = await startStack(
    {
      REDIS_CLUSTER_NODES: cluster.nodesEnv,
      ...tlsEnv,
      CONVEYOR_PREFIX: prefix,
      EMAIL_LATENCY_MS: '0',
      REPORT_STEP_DELAY_MS: '10',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    },
    users.appEnv,
  );
}, 60_000);

afterAll(async () => {
  const codes = stack ? await stack.stop() : undefined;
  await crm?.close();
  await cluster?.stop();
  if (aclDir) rmSync(aclDir, { recursive: true, force: true });
  if (codes) expect(codes).toEqual({ producer: 0, worker: 0, dashboard: 0 });
});

const waitForState = (name: string, id: string, state: string, timeoutMs = 20_000) => waitForJobState(stack.producerUrl, name, id, state, { timeoutMs });

/** Every key under the test's prefix, with the port of the master that holds it. */
async function keysByMaster(): Promise<Map<string, number>> {
  const where = new Map<string, number>();
  for (const node of cluster.nodes) {
    const client = new Redis({ host: '127.0.0.1', port: cluster.clientPort(node), lazyConnect: true, maxRetriesPerRequest: 0, ...cluster.clientOptions });
    try {
      if (!/^role:master/m.test(await client.info('replication'))) continue;
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
        cursor = next;
        for (const key of keys) where.set(key, cluster.clientPort(node));
      } while (cursor !== '0');
    } finally {
      client.disconnect();
    }
  }
  return where;
}

describe('the whole stack on a Redis Cluster (3 masters, 3 replicas)', () => {
  it('runs jobs of every queue POSTed over HTTP and shows them on the dashboard', async () => {
    const mail = await postJson(`${stack.producerUrl}/v1/jobs/email.send`, { data: { to: 'ada@example.com', subject: 'Hi', body: 'Hello' } });
    const hook = await postJson(`${stack.producerUrl}/v1/jobs/webhook.deliver`, { data: { url: `${crmUrl}/hook`, event: 'invoice.paid' } });
    const report = await postJson(`${stack.producerUrl}/v1/jobs/report.generate`, { data: { reportId: 'rpt_cluster', rows: 10 } });
    expect([mail.status, hook.status, report.status]).toEqual([201, 201, 201]);
    expect((await waitForState('email.send', mail.body.id, 'completed')).result).toMatchObject({ to: 'ada@example.com' });
    await waitForState('webhook.deliver', hook.body.id, 'completed');
    expect((await waitForState('report.generate', report.body.id, 'completed')).result).toMatchObject({ reportId: 'rpt_cluster' });

    // The queue model's figures come from the recorders' keys on each queue's own shard.
    const email = await waitFor(
      async () => {
        const { body } = await getJson(`${stack.dashboardUrl}/api/queues`);
        const found = body.queues.find((q: { name: string }) => q.name === 'email');
        return found?.counts.completed >= 1 && found.figures?.workers?.live >= 1 ? found : undefined;
      },
      { what: 'the dashboard to count the completed mail and the live worker', timeoutMs: 15_000 },
    );
    expect(email.counts.completed).toBe(1);
    // Departures are counted from the recorders' totals, flushed once a second.
    const metrics = await waitFor(
      async () => {
        const text = await (await fetch(`${stack.dashboardUrl}/metrics`)).text();
        return /^conveyor_jobs_completed_total\{queue="report"\} 1$/m.test(text) ? text : undefined;
      },
      { what: '/metrics to count the report', timeoutMs: 10_000 },
    );
    expect(metrics).toMatch(/^conveyor_jobs_completed_total\{queue="webhook"\} 1$/m);
    expect(metrics).toMatch(/^conveyor_workers_live\{queue="email"\} 1$/m);
    // The pages and bull-board's API read the queues through the same Cluster client.
    for (const page of ['/', '/queue/email', '/dead-letters', '/workers']) expect((await fetch(`${stack.dashboardUrl}${page}`)).status, page).toBe(200);
    const board = await getJson(`${stack.dashboardUrl}/queues/api/queues`);
    expect(board.status).toBe(200);
    expect(board.body.queues.map((q: { name: string }) => q.name)).toEqual(expect.arrayContaining(['email', 'webhook', 'report', 'email-dlq']));
    const workers = await getJson(`${stack.dashboardUrl}/api/workers`);
    expect(workers.status).toBe(200);
    expect(workers.body.workers).toEqual([expect.objectContaining({ pid: stack.apps.worker.child.pid })]);
  });

  it('keeps every key of a queue (and of its dead letters) in the queue’s hash slot, and spreads the queues over the shards', async () => {
    const where = await keysByMaster();
    const slotOf = async (key: string) => {
      const client = new Redis({ host: '127.0.0.1', port: cluster.clientPort(cluster.nodes[0]!), lazyConnect: true, maxRetriesPerRequest: 0, ...cluster.clientOptions });
      try {
        return (await client.cluster('KEYSLOT', key)) as number;
      } finally {
        client.disconnect();
      }
    };
    const holders = new Map<string, Set<number>>();
    for (const [key, port] of where) {
      if (key.startsWith(`${prefix}:~conveyor:`)) continue; // keys of no queue: single-key commands only
      const tag = /^[^{]*\{([^}]+)\}/.exec(key)?.[1];
      expect(tag, `key ${key} carries a hash tag`).toBeDefined();
      expect(key.startsWith(`${queueKeyBase(prefix, tag!)}:`) || key.startsWith(`${queueKeyBase(prefix, `${tag!}-dlq`)}:`), key).toBe(true);
      if (!holders.has(tag!)) holders.set(tag!, new Set());
      holders.get(tag!)!.add(port);
    }
    expect([...holders.keys()].sort()).toEqual(['email', 'report', 'webhook']);
    for (const [tag, ports] of holders) expect(ports.size, `the shards holding ${tag}'s keys`).toBe(1);
    // email, webhook and report hash to slots 10780, 12785 and 4432: one per master here.
    expect(new Set([...holders.values()].map((ports) => [...ports][0])).size).toBe(3);
    expect(await slotOf(`${queueKeyBase(prefix, 'email')}:wait`)).toBe(await slotOf(`${queueKeyBase(prefix, 'email-dlq')}:wait`));
  });

  it('fans an event out to subscribers on two shards, once, however often it is published', async () => {
    const event = { id: 'signup-cluster-1', data: { userId: 'usr_cluster', email: 'grace@example.com', name: 'Grace', crmWebhookUrl: `${crmUrl}/users` } };
    const published = await postJson(`${stack.producerUrl}/v1/events/user.signed_up`, event);
    expect(published.status).toBe(201);
    const [mail, hook] = published.body.jobs as { id: string; name: string }[];
    expect([mail!.name, hook!.name]).toEqual(['email.send', 'webhook.deliver']);
    await waitForState('email.send', mail!.id, 'completed');
    await waitForState('webhook.deliver', hook!.id, 'completed');
    const again = await postJson(`${stack.producerUrl}/v1/events/user.signed_up`, event);
    expect(again.status).toBe(200);
    expect(again.body.jobs.map((job: { id: string }) => job.id)).toEqual([mail!.id, hook!.id]);
    expect(crmBodies.filter((body) => body.includes('signup-cluster-1'))).toHaveLength(1);
  });

  it('takes a mixed-kind bulk over three shards, and its repeat by idempotency keys enqueues nothing new', async () => {
    const jobs = [
      { name: 'email.send', data: { to: 'bulk@example.com', subject: 'S', body: 'B' }, idempotencyKey: 'cluster-bulk-1' },
      { name: 'report.generate', data: { reportId: 'rpt_bulk', rows: 1 }, idempotencyKey: 'cluster-bulk-2' },
      { name: 'webhook.deliver', data: { url: `${crmUrl}/bulk`, event: 'bulk.test' }, idempotencyKey: 'cluster-bulk-3' },
    ];
    const first = await postJson(`${stack.producerUrl}/v1/jobs:bulk`, { jobs });
    expect(first.status).toBe(201);
    const ids = first.body.jobs.map((job: { id: string }) => job.id);
    const second = await postJson(`${stack.producerUrl}/v1/jobs:bulk`, { jobs });
    expect(second.status).toBeLessThan(300);
    expect(second.body.jobs.map((job: { id: string }) => job.id)).toEqual(ids);
    await Promise.all(jobs.map((job, i) => waitForState(job.name, ids[i], 'completed')));
    // The business-key index lives on the email queue's shard; the dashboard finds the mail there.
    const found = await getJson(`${stack.dashboardUrl}/api/search?q=bulk%40example.com`);
    expect(found.body.jobs).toEqual([expect.objectContaining({ id: ids[0], queue: 'email', matchedBy: 'to' })]);
  });

  it('dead-letters a job that failed for good, and redrives it with an edited payload from the dashboard', async () => {
    // "localhost" is not in WEBHOOK_ALLOWED_HOSTS: refused for good on the first attempt.
    const created = await postJson(`${stack.producerUrl}/v1/jobs/webhook.deliver`, { data: { url: 'http://localhost:9/hook', event: 'redrive.me' } });
    expect(created.status).toBe(201);
    const dead = await waitForState('webhook.deliver', created.body.id, 'dead-lettered');
    expect(dead.deadLetter).toMatchObject({ reason: 'permanent', redriveCount: 0 });
    const listed = await getJson(`${stack.dashboardUrl}/api/dead-letters?queue=webhook`);
    const record = listed.body.records.find((r: { sourceJobId?: string; id: string }) => (r.sourceJobId ?? r.id) === created.body.id || r.id === created.body.id);
    expect(record).toBeDefined();
    const redriven = await fetch(`${stack.dashboardUrl}/api/dead-letters/redrive`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-requested-by': 'redis-cluster.test' },
      body: JSON.stringify({ queue: 'webhook', ids: [record.id], edit: { url: `${crmUrl}/redriven`, event: 'redrive.me' } }),
    });
    expect(redriven.status).toBe(200);
    expect(await redriven.json()).toMatchObject({ redriven: 1 });
    await waitFor(() => crmBodies.some((body) => body.includes('redrive.me')), { what: 'the redriven webhook to arrive', timeoutMs: 15_000 });
  });

  it('ran every app command as its least-privilege user: no ACL refusal on any node, and FLUSHALL / CONFIG SET refused', async () => {
    for (const node of cluster.nodes) {
      const client = new Redis({ host: '127.0.0.1', port: cluster.clientPort(node), lazyConnect: true, maxRetriesPerRequest: 0, ...cluster.clientOptions });
      try {
        const refused = await aclRefusals(client);
        // bull-board's queue list asks BullMQ for the queue's workers (CLIENT LIST), which the
        // dashboard user is refused on purpose; bull-board shows no workers and goes on.
        expect(refused.filter((line) => line !== 'conveyor-dashboard: command client|list'), `ACL LOG of 127.0.0.1:${cluster.clientPort(node)}`).toEqual([]);
        // Plain TCP off: the apps, the bus and the replicas can only have spoken TLS.
        if (tlsEnv.REDIS_TLS) {
          const flat = (await client.config('GET', 'port', 'tls-cluster', 'tls-replication')) as string[];
          expect(Object.fromEntries(flat.flatMap((value, i) => (i % 2 === 0 ? [[value, flat[i + 1]]] : [])))).toEqual({ port: '0', 'tls-cluster': 'yes', 'tls-replication': 'yes' });
        }
      } finally {
        client.disconnect();
      }
    }
    for (const app of apps) {
      const client = new Cluster(cluster.nodes.map((node) => ({ host: '127.0.0.1', port: cluster.clientPort(node) })), {
        redisOptions: { ...cluster.clientOptions, username: `conveyor-${app}`, password: users.passwords[app], maxRetriesPerRequest: 0 },
      });
      client.on('error', () => {});
      try {
        await expect(client.set(`${prefix}:acl-probe-${app}`, '1')).resolves.toBe('OK');
        await expect(client.set(`elsewhere:${app}`, '1')).rejects.toThrow(/NOPERM/);
        await expect(client.nodes('master')[0]!.flushall()).rejects.toThrow(/NOPERM/);
        await expect(client.nodes('master')[0]!.config('SET', 'maxmemory-policy', 'allkeys-lru')).rejects.toThrow(/NOPERM/);
      } finally {
        client.disconnect();
      }
    }
  });

  it('follows a master’s failover: the replica takes over and jobs enqueued after it run, without restarting an app', async () => {
    const probe = new Cluster(cluster.nodes.map((node) => ({ host: '127.0.0.1', port: cluster.clientPort(node) })), { redisOptions: { maxRetriesPerRequest: 1, ...cluster.clientOptions } });
    let emailMaster: number;
    try {
      const key = `${queueKeyBase(prefix, 'email')}:wait`;
      const slot = (await probe.cluster('KEYSLOT', key)) as number;
      const slots = await probe.cluster('SLOTS');
      emailMaster = slots.find(([from, to]) => slot >= from && slot <= to)![2]![1];
    } finally {
      probe.disconnect();
    }
    const victim = cluster.nodes.find((node) => cluster.clientPort(node) === emailMaster)!;
    victim.process.kill('SIGKILL');
    await new Promise((resolve) => victim.process.once('exit', resolve));

    // The producer answers 503 until the cluster has promoted the replica, then 201.
    let last: unknown;
    const created = await waitFor(
      async () => {
        const res = await postJson(`${stack.producerUrl}/v1/jobs/email.send`, { data: { to: 'after-failover@example.com', subject: 'S', body: 'B' } }, { 'idempotency-key': 'after-failover' });
        last = { status: res.status, body: res.body };
        return res.status === 201 || res.status === 200 ? res : undefined;
      },
      { what: 'an enqueue to succeed after the failover', timeoutMs: 30_000, intervalMs: 250 },
    ).catch((error: Error) => {
      const complaints = stack.apps.producer.output().split('\n').filter((line) => /"level":"(warn|error|fatal)"/.test(line)).slice(-5);
      throw new Error(`${error.message}; last answer ${JSON.stringify(last)}; producer said:\n${complaints.join('\n')}`);
    });
    await waitForState('email.send', created.body.id, 'completed', 30_000);
    expect(stack.apps.worker.child.exitCode).toBeNull();
    expect(stack.apps.producer.child.exitCode).toBeNull();
  }, 90_000);
});
