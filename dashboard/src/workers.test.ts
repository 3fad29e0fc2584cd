/** GET /workers and GET /api/workers list the processes a real queue-model recorder heartbeats, over real HTTP and Redis. */
import { hostname } from 'node:os';
import { createLogger, createQueueModelRecorder, createRedis, queuePrefix, type QueueModelRecorder } from '@conveyor/shared';
import { testPrefix, waitFor } from '@conveyor/shared/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { basic, testUsers } from './access-fixture.ts';
import { startDashboard, type DashboardFixture } from './dashboard-fixture.ts';

describe('workers page', () => {
  const prefix = testPrefix('workers-page');
  const viewer = basic('vera', 'viewer-password');
  let dashboard: DashboardFixture;
  let redis: Redis;
  let recorder: QueueModelRecorder;
  const startedAtMs = Date.now() - 3_725_000;

  beforeAll(async () => {
    dashboard = await startDashboard({
      redisUrl: inject('redisUrl'),
      prefix,
      access: { users: await testUsers({ vera: { role: 'viewer', password: 'viewer-password' } }) },
    });
    redis = createRedis({ url: inject('redisUrl'), mode: 'fail-fast', connectionName: 'conveyor:workers-page-test' }, createLogger({ name: 'workers-test', level: 'silent' }));
    // A fail-fast connection refuses commands until ready: the recorder's first beat must find it so.
    await waitFor(() => redis.status === 'ready' && dashboard.redis.status === 'ready', { what: 'Redis ready' });
    recorder = createQueueModelRecorder({
      redis,
      prefix,
      concurrency: { email: 4, report: 2 },
      identity: `${hostname()}:${process.pid}`,
      startedAtMs,
      activeJobs: () => ({ email: 1, report: 2 }),
    });
    await waitFor(async () => (await redis.hlen(`${queuePrefix(prefix, 'email')}:email:qm:workers`)) > 0, { what: 'the first heartbeat' });
  });

  afterAll(async () => {
    await recorder?.close();
    redis?.disconnect();
    await dashboard?.close();
  });

  it('lists the live worker processes as JSON, for viewers', async () => {
    expect((await fetch(`${dashboard.url}/api/workers`)).status).toBe(401);
    const response = await fetch(`${dashboard.url}/api/workers`, { headers: { authorization: viewer } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { workers: Record<string, unknown>[]; generatedAt: string };
    expect(body.workers).toEqual([
      {
        id: `${hostname()}:${process.pid}`,
        host: hostname(),
        pid: process.pid,
        queues: [
          { queue: 'email', concurrency: 4, active: 1 },
          { queue: 'report', concurrency: 2, active: 2 },
        ],
        concurrency: 6,
        active: 3,
        uptimeMs: expect.any(Number),
        startedAt: new Date(startedAtMs).toISOString(),
        lastHeartbeat: expect.any(String),
        heartbeatAgeMs: expect.any(Number),
      },
    ]);
    expect(body.workers[0]!.uptimeMs).toBeGreaterThanOrEqual(3_725_000);
    expect(body.workers[0]!.heartbeatAgeMs).toBeLessThan(30_000);
    expect(Date.parse(body.generatedAt)).not.toBeNaN();
  });

  it('renders the workers table with host, pid, queues, jobs in hand, uptime and heartbeat age', async () => {
    const response = await fetch(`${dashboard.url}/workers`, { headers: { authorization: viewer } });
    expect(response.status).toBe(200);
    const page = await response.text();
    expect(page).toContain('<h1>Workers</h1>');
    const row = /<tr data-worker="[^"]+">[\s\S]*?<\/tr>/.exec(page)?.[0] ?? '';
    expect(row).toContain(`<td>${hostname()}</td><td class="num">${process.pid}</td>`);
    expect(row).toContain('<li><code>email</code> 1/4</li><li><code>report</code> 2/2</li>');
    expect(row).toContain('<td class="num">6</td><td class="num">3</td>');
    expect(row).toContain('>1 h 2 min</td>');
    expect(row).toMatch(/<time datetime="[^"]+">\d+ s ago<\/time>/);
    expect(page).toContain('<a href="/workers">Workers</a>');
    expect(page).not.toMatch(/<script(?![^>]*\ssrc=)/);
  });

  it('drops a process that stopped', async () => {
    await recorder.close();
    const body = (await (await fetch(`${dashboard.url}/api/workers`, { headers: { authorization: viewer } })).json()) as { workers: unknown[] };
    expect(body.workers).toEqual([]);
    const page = await (await fetch(`${dashboard.url}/workers`, { headers: { authorization: viewer } })).text();
    expect(page).toContain('No live worker processes');
  });
});
