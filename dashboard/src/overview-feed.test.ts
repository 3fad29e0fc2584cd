/**
 * The overview feed's two promises, measured on a private redis-server: its cost does not grow
 * with the number of open overviews (counted on the Redis side, with MONITOR, for the
 * dashboard's own connection), and an outage reaches every stream as a snapshot, not a crash.
 */
import { startRedisServer, testPrefix, waitFor, type RedisServerHandle } from '@conveyor/shared/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type DashboardFixture } from './dashboard-fixture.ts';
import { openEventStream, type EventStreamClient, type StreamEvent } from './event-stream-fixture.ts';
import type { OverviewSnapshot } from './overview-snapshot.ts';

const snapshotOf = (event: StreamEvent) => JSON.parse(event.data) as OverviewSnapshot;

describe('ten open overviews cost Redis what one does', () => {
  const connectionName = 'conveyor:overview-cost-test';
  let server: RedisServerHandle;
  let dash: DashboardFixture;
  let admin: Redis;
  let monitor: Redis;
  let commands = 0;
  const marks = new Set<string>();

  beforeAll(async () => {
    server = await startRedisServer();
    // The history is read once (on the first poll) and then reused for the whole test.
    dash = await startDashboard({ redisUrl: server.url, prefix: testPrefix('cost'), refreshMs: 150, historyRefreshMs: 3_600_000, connectionName });
    await waitFor(async () => (await fetch(`${dash.url}/readyz`)).status === 200, { what: 'the dashboard to be ready' });
    admin = new Redis(server.url);
    const clients = (await admin.client('LIST')) as string;
    const named = clients.split('\n').filter((line) => line.includes(` name=${connectionName} `));
    expect(named).toHaveLength(1);
    const addr = / addr=(\S+) /.exec(named[0]!)![1]!;
    // monitor() opens a connection of its own; `admin` stays free for other commands.
    monitor = await admin.monitor();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== addr) return;
      if (args[0]?.toLowerCase() === 'echo' && args[1]?.startsWith('mark:')) marks.add(args[1]);
      else commands++;
    });
  });

  afterAll(async () => {
    monitor?.disconnect();
    admin?.disconnect();
    await dash?.close();
    await server?.stop();
  });

  /** The dashboard connection's commands so far, once MONITOR has shown all of them. */
  async function commandsSoFar(): Promise<number> {
    const mark = `mark:${marks.size}`;
    await dash.redis.echo(mark);
    await waitFor(() => marks.has(mark), { what: `MONITOR to show ${mark}` });
    return commands;
  }

  const idle = () => dash.overviewFeed.stats().subscribers === 0 && !dash.overviewFeed.stats().polling;

  /** Opens `tabs` streams until each has seen `polls` snapshots after its first, closes them; commands and polls meanwhile. */
  async function watch(tabs: number, polls: number): Promise<{ commands: number; polls: number }> {
    await waitFor(idle, { what: 'the feed to stop polling' });
    const [commandsBefore, pollsBefore] = [await commandsSoFar(), dash.overviewFeed.stats().polls];
    const streams: EventStreamClient[] = await Promise.all(Array.from({ length: tabs }, () => openEventStream(`${dash.url}/api/overview/stream`)));
    try {
      await Promise.all(streams.map((s) => s.next((e) => e.event === 'overview', { from: polls, what: `snapshot ${polls + 1}` })));
      for (const s of streams) expect(snapshotOf(s.events.at(-1)!).error).toBeNull();
    } finally {
      for (const s of streams) s.close();
    }
    await waitFor(idle, { what: 'the last stream to unsubscribe and the feed to stop' });
    return { commands: (await commandsSoFar()) - commandsBefore, polls: dash.overviewFeed.stats().polls - pollsBefore };
  }

  it('issues the same Redis commands per poll for 10 streams as for 1', async () => {
    await watch(1, 2); // warm-up: loads the Lua scripts and reads the history once
    const one = await watch(1, 5);
    const ten = await watch(10, 5);
    const perPoll = { one: one.commands / one.polls, ten: ten.commands / ten.polls };
    console.info(`overview feed: 1 stream ${one.commands} commands / ${one.polls} polls, 10 streams ${ten.commands} commands / ${ten.polls} polls`);
    expect(one.polls).toBeGreaterThanOrEqual(5);
    expect(ten.polls).toBeGreaterThanOrEqual(5);
    expect(perPoll.one).toBeGreaterThan(0);
    expect(Number.isInteger(perPoll.one)).toBe(true);
    expect(perPoll.ten).toBe(perPoll.one);
  });

  it('stops polling Redis while nobody watches', async () => {
    await waitFor(idle, { what: 'the feed to stop polling' });
    const before = await commandsSoFar();
    const pollsBefore = dash.overviewFeed.stats().polls;
    // Three refresh intervals with no stream open: no poll, no command.
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect(dash.overviewFeed.stats().polls).toBe(pollsBefore);
    expect(await commandsSoFar()).toBe(before);
  });
});

describe('the overview while Redis is away', () => {
  let server: RedisServerHandle;
  let dash: DashboardFixture;
  let stream: EventStreamClient | undefined;

  beforeAll(async () => {
    server = await startRedisServer();
    dash = await startDashboard({ redisUrl: server.url, prefix: testPrefix('ov-down'), refreshMs: 200, commandTimeoutMs: 500 });
    await waitFor(async () => (await fetch(`${dash.url}/readyz`)).status === 200, { what: 'the dashboard to be ready' });
  });

  afterAll(async () => {
    stream?.close();
    await dash?.close();
    await server?.stop();
  });

  it('streams a snapshot carrying the error, answers the page with 503 and the banner, and recovers', async () => {
    stream = await openEventStream(`${dash.url}/api/overview/stream`);
    await stream.next((e) => e.event === 'overview' && snapshotOf(e).error === null, { what: 'a snapshot with figures' });

    const { port } = server;
    await server.stop();
    const down = snapshotOf(await stream.next((e) => e.event === 'overview' && snapshotOf(e).error !== null, { what: 'a snapshot with the error' }));
    expect(down.error).toEqual({ code: 'redis_unavailable', message: expect.stringMatching(/Redis/) });
    for (const queue of down.queues) {
      expect(queue).toMatchObject({ paused: null, deadLetters: null, figures: null, health: { level: 'unknown', reasons: [] } });
      expect(queue.text.backlog).toBe('–');
    }

    const page = await fetch(`${dash.url}/`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(503);
    expect(page.headers.get('retry-after')).toMatch(/^\d+$/);
    const html = await page.text();
    expect(html).toMatch(/<div class="banner" role="alert"><strong>Redis unreachable\.<\/strong>/);
    expect(html).toContain('<tr data-queue="email" data-health="unknown">');
    const api = await fetch(`${dash.url}/api/overview`);
    expect(api.status).toBe(503);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('redis_unavailable');

    // The same stream, still open, carries figures again once Redis is back.
    const from = stream.events.length;
    server = await startRedisServer({ port });
    await stream.next((e) => e.event === 'overview' && snapshotOf(e).error === null, { from, timeoutMs: 20_000, what: 'figures again' });
    const recovered = await fetch(`${dash.url}/`);
    expect(recovered.status).toBe(200);
    expect(await recovered.text()).not.toContain('Redis unreachable');
  });
});
