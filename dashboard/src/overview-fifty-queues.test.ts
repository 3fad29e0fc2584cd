/**
 * The overview with 50 queues, on a private redis-server. The dashboard shows whatever queues
 * it is given (a CatalogQueues), so the test opens 50 of them, each with its dead-letter queue
 * and a few jobs, as a catalog of 50 queues would. The first `GET /` must stay within the
 * overview's page-weight budget, and one poll of the overview feed must cost Redis O(queues)
 * commands — counted with MONITOR on the dashboard's connection, for a poll that also reads the
 * sparklines' hour of history and for one that reuses it. Times are printed, never asserted.
 */
import { startRedisServer, testPrefix, waitFor, type RedisServerHandle } from '@conveyor/shared/testing';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monitorConnection, type CommandMonitor } from './command-monitor-fixture.ts';
import { startDashboard, type DashboardFixture } from './dashboard-fixture.ts';
import { SERIES_MINUTES } from './overview-snapshot.ts';
import { OVERVIEW_WEIGHT_BUDGET } from './ui/overview-page.ts';

const QUEUES = OVERVIEW_WEIGHT_BUDGET.queues;
const JOBS_PER_QUEUE = 3;
/**
 * Most Redis commands one poll sends per queue once the history is in hand: the queue model's
 * read (7 ten-second slot hashes, the worker heartbeats, the totals, a snapshot script, and an
 * HDEL when a stopped worker's heartbeat is left to drop), the job counts of the queue and of
 * its dead-letter queue (a script each), and whether it is paused: 13, or 14.
 */
const POLL_COMMANDS_PER_QUEUE = 14;
/** The poll that also reads the history adds, per queue, one hash per minute of the hour and a snapshot script. */
const HISTORY_COMMANDS_PER_QUEUE = SERIES_MINUTES + 2;

describe(`the overview with ${QUEUES} queues`, () => {
  const connectionName = 'conveyor:overview-fifty-test';
  const names = Array.from({ length: QUEUES }, (_, i) => `load-${String(i).padStart(2, '0')}`);
  let server: RedisServerHandle;
  let dash: DashboardFixture;
  let monitor: CommandMonitor;

  beforeAll(async () => {
    server = await startRedisServer();
    dash = await startDashboard({ redisUrl: server.url, prefix: testPrefix('fifty'), queueNames: names, refreshMs: 200, historyRefreshMs: 3_600_000, connectionName });
    await waitFor(async () => (await fetch(`${dash.url}/readyz`)).status === 200, { what: 'the dashboard to be ready' });
    await Promise.all(
      dash.queues.all().map((queue) => queue.addBulk(Array.from({ length: JOBS_PER_QUEUE }, (_, n) => ({ name: 'load.job', data: { n } })))),
    );
    monitor = await monitorConnection(server.url, dash.redis, connectionName);
  });

  afterAll(async () => {
    monitor?.close();
    await dash?.close();
    await server?.stop();
  });

  it(`answers the first GET / within the page-weight budget, and polls Redis O(queues): at most ${POLL_COMMANDS_PER_QUEUE} commands a queue`, async () => {
    const before = await monitor.settle();
    const startedAt = performance.now();
    const response = await fetch(`${dash.url}/`, { headers: { accept: 'text/html' } });
    const page = await response.text();
    const firstPageMs = performance.now() - startedAt;
    const firstPoll = monitor.commands.slice(before, await monitor.settle());

    expect(response.status).toBe(200);
    expect(page.match(/<tr data-queue="load-\d\d"/g)).toHaveLength(QUEUES);
    expect(page).toContain(`<tr data-queue="load-49"`);
    const bytes = Buffer.byteLength(page);
    const gzipBytes = gzipSync(page).byteLength;
    expect(bytes).toBeLessThanOrEqual(OVERVIEW_WEIGHT_BUDGET.htmlBytes);
    expect(gzipBytes).toBeLessThanOrEqual(OVERVIEW_WEIGHT_BUDGET.htmlGzipBytes);

    // The next poll reuses the history: what every refresh costs while someone watches.
    await new Promise((resolve) => setTimeout(resolve, 250));
    const pollsBefore = dash.overviewFeed.stats().polls;
    const steadyFrom = await monitor.settle();
    const pollStartedAt = performance.now();
    const { snapshot } = await dash.overviewFeed.read();
    const pollMs = performance.now() - pollStartedAt;
    const steadyPoll = monitor.commands.slice(steadyFrom, await monitor.settle());
    expect(dash.overviewFeed.stats().polls).toBe(pollsBefore + 1);
    expect(snapshot.error).toBeNull();
    expect(snapshot.queues.map((q) => q.figures?.backlog)).toEqual(names.map(() => JOBS_PER_QUEUE));

    const byName = (commands: string[][]) =>
      Object.entries(commands.reduce<Record<string, number>>((counts, [name = '']) => ({ ...counts, [name]: (counts[name] ?? 0) + 1 }), {}))
        .sort(([, a], [, b]) => b - a)
        .map(([name, n]) => `${name} ${n}`)
        .join(', ');
    console.info(
      `overview, ${QUEUES} queues: first GET / ${firstPageMs.toFixed(0)} ms, HTML ${bytes} B (gzip ${gzipBytes} B), ${firstPoll.length} Redis commands (${byName(firstPoll)}); ` +
        `a later poll ${pollMs.toFixed(0)} ms, ${steadyPoll.length} commands = ${(steadyPoll.length / QUEUES).toFixed(1)} a queue (${byName(steadyPoll)})`,
    );
    expect(steadyPoll.length).toBeGreaterThan(0);
    expect(steadyPoll.length).toBeLessThanOrEqual(POLL_COMMANDS_PER_QUEUE * QUEUES);
    expect(firstPoll.length).toBeLessThanOrEqual((POLL_COMMANDS_PER_QUEUE + HISTORY_COMMANDS_PER_QUEUE) * QUEUES);
    // Never a scan of the keyspace or of a queue's jobs.
    expect(firstPoll.concat(steadyPoll).filter(([name]) => /^(scan|keys|hscan|sscan|zscan)$/.test(name ?? '')).map(([name]) => name)).toEqual([]);
  });
});
