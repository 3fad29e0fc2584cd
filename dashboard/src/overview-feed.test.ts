/**
 * The overview feed's two promises, measured on a private redis-server: its cost does not grow
 * with the number of open overviews (counted on the Redis side, with MONITOR, for the
 * dashboard's own connection), and an outage reaches every stream as a snapshot, not a crash.
 * Signed in, each stream re-checks its caller before a push; those session reads are shared
 * per session and poll, so they grow with sessions, never with tabs.
 */
import { startRedisServer, testPrefix, waitFor, type RedisServerHandle } from '@conveyor/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn, testUsers, type SignedIn } from './access-fixture.ts';
import { sessionKey } from './access/session-store.ts';
import type { AccessOptions } from './app.ts';
import { monitorConnection, type CommandMonitor } from './command-monitor-fixture.ts';
import { startDashboard, type DashboardFixture } from './dashboard-fixture.ts';
import { openEventStream, type EventStreamClient, type StreamEvent } from './event-stream-fixture.ts';
import type { OverviewSnapshot } from './overview-snapshot.ts';

const snapshotOf = (event: StreamEvent) => JSON.parse(event.data) as OverviewSnapshot;

interface Watched {
  polls: number;
  /** Commands of the dashboard's connection meanwhile, session reads included. */
  commands: number;
  sessionReads: number;
}

describe('ten open overviews cost Redis what one does', () => {
  let server: RedisServerHandle;
  const opened: { dash: DashboardFixture; monitor: CommandMonitor }[] = [];
  /** The no-users dashboard of the first test, idle afterwards. */
  let local: Awaited<ReturnType<typeof costFixture>>;

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(async () => {
    for (const { dash, monitor } of opened) {
      monitor.close();
      await dash.close();
    }
    await server?.stop();
  });

  /** A dashboard on the private server whose connection MONITOR watches; `watch` opens streams on it. */
  async function costFixture(label: string, access?: AccessOptions) {
    const connectionName = `conveyor:overview-cost-${label}`;
    const prefix = testPrefix(`cost-${label}`);
    // A GET of a session key: what a signed-in stream costs when it is let in or re-checked.
    const isSessionRead = (command: string[]) => command[0] === 'get' && (command[1] ?? '').startsWith(sessionKey(prefix, ''));
    // The history is read once (on the first poll) and then reused for the whole test.
    const dash = await startDashboard({
      redisUrl: server.url, prefix, refreshMs: 150, historyRefreshMs: 3_600_000, connectionName, ...(access ? { access } : {}),
    });
    await waitFor(async () => (await fetch(`${dash.url}/readyz`)).status === 200, { what: 'the dashboard to be ready' });
    const monitor = await monitorConnection(server.url, dash.redis, connectionName);
    opened.push({ dash, monitor });
    const idle = () => dash.overviewFeed.stats().subscribers === 0 && !dash.overviewFeed.stats().polling;

    /** Opens one stream per header set until each has seen `polls` snapshots after its first, closes them; what that cost. */
    async function watch(headers: readonly Record<string, string>[], polls: number): Promise<Watched> {
      await waitFor(idle, { what: 'the feed to stop polling' });
      const [commandsBefore, pollsBefore] = [await monitor.settle(), dash.overviewFeed.stats().polls];
      const streams: EventStreamClient[] = await Promise.all(headers.map((h) => openEventStream(`${dash.url}/api/overview/stream`, h)));
      try {
        for (const s of streams) expect(s.response.status).toBe(200);
        await Promise.all(streams.map((s) => s.next((e) => e.event === 'overview', { from: polls, what: `snapshot ${polls + 1}` })));
        for (const s of streams) expect(snapshotOf(s.events.at(-1)!).error).toBeNull();
      } finally {
        for (const s of streams) s.close();
      }
      await waitFor(idle, { what: 'the last stream to unsubscribe and the feed to stop' });
      const commands = monitor.commands.slice(commandsBefore, await monitor.settle());
      return { polls: dash.overviewFeed.stats().polls - pollsBefore, commands: commands.length, sessionReads: commands.filter(isSessionRead).length };
    }
    return { dash, monitor, watch };
  }

  it('issues the same Redis commands per poll for 10 streams as for 1', async () => {
    local = await costFixture('local');
    const { watch } = local;
    await watch([{}], 2); // warm-up: loads the Lua scripts and reads the history once
    const one = await watch([{}], 5);
    const ten = await watch(Array.from({ length: 10 }, () => ({})), 5);
    const perPoll = { one: one.commands / one.polls, ten: ten.commands / ten.polls };
    console.info(`overview feed: 1 stream ${one.commands} commands / ${one.polls} polls, 10 streams ${ten.commands} commands / ${ten.polls} polls`);
    expect(one.polls).toBeGreaterThanOrEqual(5);
    expect(ten.polls).toBeGreaterThanOrEqual(5);
    expect(perPoll.one).toBeGreaterThan(0);
    expect(Number.isInteger(perPoll.one)).toBe(true);
    expect(perPoll.ten).toBe(perPoll.one);
    expect(one.sessionReads + ten.sessionReads).toBe(0);
  });

  it('signed in, re-checks a session once per poll however many of its tabs are open, and each session once', async () => {
    const users = await testUsers({ ada: { role: 'viewer', password: 'ada-password' } });
    const { watch, dash } = await costFixture('users', { users, sessionSecret: 'overview-cost-test-secret-32-chars-long!' });
    const sessions: SignedIn[] = [];
    for (let i = 0; i < 10; i++) sessions.push(await signIn(dash.url, 'ada', 'ada-password'));
    const tabs = (of: readonly SignedIn[], count: number) => Array.from({ length: count }, (_, i) => ({ cookie: of[i % of.length]!.cookie }));

    await watch(tabs(sessions, 1), 2); // warm-up, as above
    const one = await watch(tabs(sessions, 1), 5);
    const tenTabs = await watch(tabs(sessions.slice(0, 1), 10), 5);
    const tenSessions = await watch(tabs(sessions, 10), 5);
    console.info(
      `overview feed signed in: 1 tab ${one.commands} commands (${one.sessionReads} session reads) / ${one.polls} polls; ` +
        `10 tabs of 1 session ${tenTabs.commands} (${tenTabs.sessionReads}) / ${tenTabs.polls}; 10 sessions ${tenSessions.commands} (${tenSessions.sessionReads}) / ${tenSessions.polls}`,
    );
    // The figure reads stay one set per poll, whoever watches.
    const figureReadsPerPoll = (w: Watched) => (w.commands - w.sessionReads) / w.polls;
    expect(Number.isInteger(figureReadsPerPoll(one))).toBe(true);
    expect(figureReadsPerPoll(tenTabs)).toBe(figureReadsPerPoll(one));
    expect(figureReadsPerPoll(tenSessions)).toBe(figureReadsPerPoll(one));
    // Each stream is let in with one session read; after that, at most one re-check per session
    // and poll (a poll that ends after the last tab closed checks nobody).
    const reChecks = (w: Watched, streams: number) => w.sessionReads - streams;
    for (const [w, streams] of [[one, 1], [tenTabs, 10]] as const) {
      expect(reChecks(w, streams)).toBeLessThanOrEqual(w.polls);
      expect(reChecks(w, streams)).toBeGreaterThanOrEqual(w.polls - 1);
    }
    expect(reChecks(tenSessions, 10)).toBeLessThanOrEqual(10 * tenSessions.polls);
    expect(reChecks(tenSessions, 10)).toBeGreaterThanOrEqual(10);
  });

  it('stops polling Redis while nobody watches', async () => {
    const { dash, monitor } = local;
    await waitFor(() => dash.overviewFeed.stats().subscribers === 0 && !dash.overviewFeed.stats().polling, { what: 'the feed to stop polling' });
    const before = await monitor.settle();
    const pollsBefore = dash.overviewFeed.stats().polls;
    // Three refresh intervals with no stream open: no poll, no command.
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect(dash.overviewFeed.stats().polls).toBe(pollsBefore);
    expect(await monitor.settle()).toBe(before);
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
