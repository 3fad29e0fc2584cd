import { addSearchEntries, jobKinds, searchKeysOf } from '@conveyor/shared';
import { testPrefix } from '@conveyor/shared/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { monitorConnection } from './command-monitor-fixture.ts';
import { startDashboard, type DashboardFixture } from './dashboard-fixture.ts';

/** The dashboard's connection, by name, for MONITOR. */
const connectionName = 'conveyor:search-test';
let dash: DashboardFixture;
let prefix: string;

beforeAll(async () => {
  prefix = testPrefix('search');
  dash = await startDashboard({ redisUrl: inject('redisUrl'), prefix, connectionName });
});
afterAll(async () => dash?.close());

/** Adds a job and indexes it as the producer does at enqueue. */
async function enqueue(name: 'email.send' | 'report.generate', data: Record<string, unknown>, options: { delay?: number } = {}) {
  const kind = jobKinds[name];
  const job = await dash.queues.get(kind.queue).add(name, data, options);
  await addSearchEntries(dash.redis, searchKeysOf(prefix, kind, data).map((key) => ({ key, jobId: job.id! })), job.timestamp);
  return job;
}

describe('GET /api/search', () => {
  it('finds jobs by business key, newest first, with their state and a bull-board link', async () => {
    const older = await enqueue('email.send', { to: 'grace@example.com', subject: 'a', body: 'x' });
    const newer = await enqueue('email.send', { to: 'Grace@Example.com', subject: 'b', body: 'x' }, { delay: 60_000 });
    await enqueue('email.send', { to: 'other@example.com', subject: 'c', body: 'x' });
    const res = await fetch(`${dash.url}/api/search?q=${encodeURIComponent('grace@example.com')}`);
    expect(res.status).toBe(200);
    const body: any = await res.json();
    expect(body.jobs.map((hit: any) => [hit.id, hit.state, hit.matchedBy])).toEqual([
      [newer.id, 'delayed', 'to'],
      [older.id, 'waiting', 'to'],
    ]);
    expect(body.jobs[0].url).toBe(`/queues/queue/email/${newer.id}`);
  });

  it('finds a job by id in any queue, and drops indexed jobs that are gone', async () => {
    const report = await enqueue('report.generate', { reportId: 'gone-soon', rows: 1 });
    const byId: any = await (await fetch(`${dash.url}/api/search?q=${report.id}`)).json();
    expect(byId.jobs).toContainEqual(expect.objectContaining({ id: report.id, queue: 'report', matchedBy: 'id' }));
    await report.remove();
    const after: any = await (await fetch(`${dash.url}/api/search?q=gone-soon`)).json();
    expect(after.jobs).toEqual([]);
  });

  it('refuses an over-long query with 400 naming q', async () => {
    const res = await fetch(`${dash.url}/api/search?q=${'x'.repeat(300)}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.details).toEqual({ field: 'q' });
  });
});

describe('GET /search', () => {
  it('renders the search box and the jobs found, escaping the query', async () => {
    const job = await enqueue('report.generate', { reportId: 'page-rpt', rows: 1 });
    const page = await (await fetch(`${dash.url}/search?q=page-rpt`)).text();
    expect(page).toContain(`href="/queues/queue/report/${job.id}"`);
    expect(page).toContain('reportId');
    const hostile = await (await fetch(`${dash.url}/search?q=${encodeURIComponent('<script>alert(1)</script>')}`)).text();
    expect(hostile).not.toContain('<script>alert(1)</script>');
    expect(hostile).toContain('&lt;script&gt;');
  });
});

describe('a search never scans Redis', () => {
  it('finds by id and by business key, on the page and as JSON, without SCAN or KEYS', async () => {
    const job = await enqueue('email.send', { to: 'monitored@example.com', subject: 'a', body: 'x' });
    await dash.redis.ping(); // the connection is up before MONITOR looks for it
    const monitor = await monitorConnection(inject('redisUrl'), dash.redis, connectionName);
    try {
      const from = await monitor.settle();
      const found: unknown[] = [];
      for (const q of ['monitored@example.com', job.id!, 'nobody@example.com']) {
        const response = await fetch(`${dash.url}/api/search?q=${encodeURIComponent(q)}`);
        expect(response.status, q).toBe(200);
        found.push(((await response.json()) as { jobs: { id: string; matchedBy: string }[] }).jobs.map((hit) => [hit.id, hit.matchedBy]));
      }
      expect((await fetch(`${dash.url}/search?q=monitored%40example.com`)).status).toBe(200);
      expect(found).toEqual([[[job.id, 'to']], [[job.id, 'id']], []]);

      const sent = monitor.commands.slice(from, await monitor.settle());
      expect(sent.length).toBeGreaterThan(0);
      expect(sent.filter(([name]) => /^(scan|keys|hscan|sscan|zscan)$/.test(name ?? '')).map((command) => command.join(' '))).toEqual([]);
    } finally {
      monitor.close();
    }
  });
});
