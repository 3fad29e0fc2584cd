import { createQueueModelRecorder, MINUTE_MS, snapshotQueue, type HistoryPoint } from '@conveyor/shared';
import { startRedisServer, testPrefix, waitFor, type RedisServerHandle } from '@conveyor/shared/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { signIn, testUsers, type SignedIn } from './access-fixture.ts';
import { startDashboard, type DashboardFixture } from './dashboard-fixture.ts';

const redisUrl = inject('redisUrl');

interface HistoryBody {
  queue: string;
  range: string;
  stepSec: number;
  fromMs: number;
  toMs: number;
  points: HistoryPoint[];
}

interface ErrorBody {
  error: { code: string; message: string; details?: { field: string }[] };
}

describe('the queue detail page', () => {
  const prefix = testPrefix('queue-detail');
  let dash: DashboardFixture;
  let viewer: SignedIn;
  let operator: SignedIn;
  /** The start of the minute the test recorded its figures in: five minutes ago. */
  let recordedMinuteMs: number;

  const get = (who: SignedIn, path: string, accept = 'application/json') => fetch(`${dash.url}${path}`, { headers: { cookie: who.cookie, accept }, redirect: 'manual' });
  const postJson = (who: SignedIn, path: string) =>
    fetch(`${dash.url}${path}`, { method: 'POST', headers: { cookie: who.cookie, 'x-csrf-token': who.csrf, 'content-type': 'application/json' }, body: '{}' });
  const postForm = (who: SignedIn, path: string, fields: Record<string, string> = {}) =>
    fetch(`${dash.url}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: who.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: who.csrf, ...fields }),
    });
  const isPaused = () => dash.queues.get('email').isPaused();
  const auditEntries = async () => ((await (await get(operator, '/api/audit?limit=50')).json()) as { entries: Record<string, unknown>[] }).entries;

  beforeAll(async () => {
    const users = await testUsers({ ada: { role: 'operator', password: 'ada-password' }, bob: { role: 'viewer', password: 'bob-password' } });
    dash = await startDashboard({ redisUrl, prefix, access: { users, sessionSecret: 'queue-detail-test-secret-of-32-chars!!' } });
    [viewer, operator] = await Promise.all([signIn(dash.url, 'bob', 'bob-password'), signIn(dash.url, 'ada', 'ada-password')]);

    // Five minutes ago: counter snapshots a minute apart with 30 jobs added between them (λ = 0.5/s),
    // and four attempts (three ok, one failed) recorded the way a worker records them.
    recordedMinuteMs = (Math.floor(Date.now() / MINUTE_MS) - 5) * MINUTE_MS;
    const t = recordedMinuteMs;
    const snap = (atMs: number) => snapshotQueue(dash.redis, { prefix, queue: 'email', nowMs: atMs, historyTtlSec: 3_600 });
    await snap(t + 1_000);
    await dash.queues.get('email').addBulk(Array.from({ length: 30 }, (_, i) => ({ name: 'email.send' as const, data: { to: `u${i}@example.com`, subject: 's', body: 'b' }, opts: { delay: 3_600_000 } })));
    await snap(t + MINUTE_MS + 1_000);
    const recorder = createQueueModelRecorder({ redis: dash.redis, prefix, concurrency: {}, heartbeatMs: 3_600_000 });
    for (const ok of [true, true, true]) recorder.attempt('email', { readyAtMs: t + 10_000, startedAtMs: t + 10_200, finishedAtMs: t + 10_500, ok });
    recorder.attempt('email', { startedAtMs: t + 20_000, finishedAtMs: t + 20_800, ok: false });
    await recorder.flush();
    await recorder.close();
  });

  afterAll(async () => {
    await dash?.close();
  });

  const pointAt = (points: readonly HistoryPoint[], atMs: number) => points.find((p) => p.fromMs <= atMs && atMs < p.toMs);

  it('answers the history of each range in whole steps, with the recorded figures and null where nobody measured', async () => {
    const expected = { '1h': { count: 60, stepSec: 60 }, '24h': { count: 144, stepSec: 600 }, '7d': { count: 168, stepSec: 3_600 } };
    for (const [range, { count, stepSec }] of Object.entries(expected)) {
      const response = await get(viewer, `/api/queues/email/history?range=${range}`);
      expect(response.status, range).toBe(200);
      const body = (await response.json()) as HistoryBody;
      expect(body, range).toMatchObject({ queue: 'email', range, stepSec });
      expect(body.points, range).toHaveLength(count);
      for (const point of body.points.slice(0, -1)) expect(point.toMs - point.fromMs, range).toBe(stepSec * 1_000);
      // Aligned to whole steps (UTC), consecutive, the last one the step in progress.
      expect(body.points[0]!.fromMs % (stepSec * 1_000), range).toBe(0);
      body.points.slice(1).forEach((point, i) => expect(point.fromMs, range).toBe(body.points[i]!.toMs));
      expect(body.points.at(-1)!.toMs, range).toBeGreaterThan(Date.now() - MINUTE_MS);

      const point = pointAt(body.points, recordedMinuteMs + 10_000);
      expect(point, range).toMatchObject({ completedAttempts: 3, failedAttempts: 1, failureRate: 0.25 });
      expect(point!.service.count, range).toBe(4);
      expect(point!.wait.count, range).toBe(3);
    }

    const hour = (await (await get(viewer, '/api/queues/email/history')).json()) as HistoryBody;
    expect(hour.range).toBe('1h');
    const minute = pointAt(hour.points, recordedMinuteMs)!;
    expect(minute.arrivalRate).toBe(0.5);
    expect(minute.inQueue).toBe(0);
    expect(minute.wait.p50Ms).toBeGreaterThan(0);
    // An hour ago nobody took a counter snapshot: its rates are unknown, not zero.
    expect(hour.points[0]).toMatchObject({ arrivalRate: null, completionRate: null, inQueue: null, failureRate: null });
  });

  it('refuses an unknown range with 400 naming the field, and an unknown queue with 404', async () => {
    for (const query of ['range=2h', 'range=1h&range=7d', 'range=']) {
      const response = await get(viewer, `/api/queues/email/history?${query}`);
      expect(response.status, query).toBe(400);
      const body = (await response.json()) as ErrorBody;
      expect(body.error.code, query).toBe('bad_request');
      expect(body.error.message, query).toMatch(/range/);
      expect(body.error.details?.[0]?.field, query).toBe('range');
    }
    for (const name of ['nope', 'email-dlq']) {
      const api = await get(viewer, `/api/queues/${name}/history`);
      expect(api.status, name).toBe(404);
      expect(((await api.json()) as ErrorBody).error.code, name).toBe('not_found');
      const page = await get(viewer, `/queue/${name}`, 'text/html');
      expect(page.status, name).toBe(404);
      expect(page.headers.get('content-type'), name).toMatch(/text\/html/);
      expect(await page.text(), name).toContain(`No queue &quot;${name}&quot;`);
    }
    expect((await postJson(operator, '/api/queues/nope/pause')).status).toBe(404);
  });

  it('renders the figures, chart containers, range links and bull-board links; a viewer gets no pause button', async () => {
    const response = await get(viewer, '/queue/email?range=24h', 'text/html');
    expect(response.status).toBe(200);
    const page = await response.text();
    for (const chart of ['rates', 'wait', 'service', 'failures', 'backlog']) expect(page).toContain(`data-chart="${chart}"`);
    expect(page).toContain('data-history-url="/api/queues/email/history?range=24h"');
    expect(page).toContain('<script src="/assets/vendor/uplot.js" defer></script>');
    expect(page).toContain('<script src="/assets/queue-detail.js" defer></script>');
    expect(page).toContain('<link rel="stylesheet" href="/assets/vendor/uplot.css">');
    expect(page).not.toMatch(/<script>|<script [^>]*>[^<]/);
    expect(page).toContain('href="/queues/queue/email"');
    for (const state of ['active', 'waiting', 'prioritized', 'waiting-children', 'completed', 'failed', 'delayed', 'paused']) {
      expect(page).toContain(`href="/queues/queue/email?status=${state}"`);
    }
    expect(page).toMatch(/status=delayed">delayed<\/a> <strong class="num">30<\/strong>/);
    expect(page).toContain('href="/dead-letters?queue=email"');
    for (const range of ['1h', '24h', '7d']) expect(page).toContain(`href="/queue/email?range=${range}"`);
    expect(page).toContain('href="/queue/email?range=24h" aria-current="page"');
    expect(page).toContain('<details class="qd-history">');
    expect(page).toContain('144 points of 10 min');
    expect(page).toContain('data-figure="backlog"');
    expect(page).not.toContain('action="/queue/email/pause"');
    expect(page).not.toContain('action="/queue/email/resume"');

    const asOperator = await (await get(operator, '/queue/email', 'text/html')).text();
    expect(asOperator).toMatch(/<form class="qd-control" method="post" action="\/queue\/email\/pause"><input type="hidden" name="_csrf" value="[^"]+">/);
  });

  it('refuses a viewer who tries to pause, changing nothing', async () => {
    for (const path of ['/api/queues/email/pause', '/api/queues/email/resume']) {
      const response = await postJson(viewer, path);
      expect(response.status, path).toBe(403);
      expect(((await response.json()) as ErrorBody).error.code, path).toBe('forbidden');
    }
    expect((await postForm(viewer, '/queue/email/pause')).status).toBe(403);
    expect(await isPaused()).toBe(false);
  });

  it('pauses and resumes through the API for an operator, idempotently, each action in the audit log with its queue', async () => {
    for (let i = 0; i < 2; i++) {
      const response = await postJson(operator, '/api/queues/email/pause');
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ queue: 'email', paused: true });
      expect(await isPaused()).toBe(true);
    }
    const pausedPage = await (await get(operator, '/queue/email', 'text/html')).text();
    expect(pausedPage).toContain('<span class="badge paused">paused</span>');
    expect(pausedPage).toContain('action="/queue/email/resume"');

    const resumed = await postJson(operator, '/api/queues/email/resume');
    expect(resumed.status).toBe(200);
    expect(await resumed.json()).toEqual({ queue: 'email', paused: false });
    expect(await isPaused()).toBe(false);

    const entries = await auditEntries();
    const ours = entries.filter((e) => e.user === 'ada' && (e.path === '/api/queues/email/pause' || e.path === '/api/queues/email/resume'));
    expect(ours.map((e) => e.action)).toEqual(['queue.resume', 'queue.pause', 'queue.pause']);
    for (const entry of ours) expect(entry).toMatchObject({ user: 'ada', via: 'session', queue: 'email', method: 'POST', status: 200 });
    expect(typeof ours[0]!.at).toBe('string');
  });

  it("pauses and resumes through the page's forms, back to the page with a notice", async () => {
    const paused = await postForm(operator, '/queue/email/pause', { range: '7d' });
    expect(paused.status).toBe(303);
    expect(paused.headers.get('location')).toBe('/queue/email?notice=paused&range=7d');
    expect(await isPaused()).toBe(true);
    const page = await (await get(operator, paused.headers.get('location')!, 'text/html')).text();
    expect(page).toContain('Queue paused');
    expect(page).toContain('href="/queue/email?range=7d" aria-current="page"');

    const resumed = await postForm(operator, '/queue/email/resume');
    expect(resumed.status).toBe(303);
    expect(resumed.headers.get('location')).toBe('/queue/email?notice=resumed');
    expect(await isPaused()).toBe(false);

    const [resume, pause] = await auditEntries();
    expect(resume).toMatchObject({ action: 'queue.resume', queue: 'email', user: 'ada', path: '/queue/email/resume', status: 303 });
    expect(pause).toMatchObject({ action: 'queue.pause', queue: 'email', user: 'ada', path: '/queue/email/pause', status: 303 });
  });

  it('serves uPlot and the page script from /assets without sign-in', async () => {
    const script = await fetch(`${dash.url}/assets/vendor/uplot.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect(await script.text()).toMatch(/uPlot/);
    const style = await fetch(`${dash.url}/assets/vendor/uplot.css`);
    expect(style.status).toBe(200);
    expect(style.headers.get('content-type')).toMatch(/text\/css/);
    expect(await style.text()).toContain('.uplot');
    const own = await fetch(`${dash.url}/assets/queue-detail.js`);
    expect(own.status).toBe(200);
    expect(own.headers.get('content-type')).toMatch(/javascript/);
    expect(await own.text()).toContain('data-chart');
  });
});

// A private redis-server: this test stops it.
describe('the queue detail page while Redis is away', () => {
  let server: RedisServerHandle;
  let dash: DashboardFixture;

  beforeAll(async () => {
    server = await startRedisServer();
    dash = await startDashboard({ redisUrl: server.url, prefix: testPrefix('queue-detail-down'), commandTimeoutMs: 500 });
    await waitFor(async () => (await fetch(`${dash.url}/readyz`)).status === 200, { what: 'the dashboard to be ready' });
  });

  afterAll(async () => {
    await dash?.close();
    await server?.stop();
  });

  it('answers 503 redis_unavailable to the page, the history and pause', async () => {
    await server.stop();
    await waitFor(async () => (await fetch(`${dash.url}/readyz`)).status === 503, { what: '/readyz to notice' });
    const requests: [string, RequestInit][] = [
      ['/api/queues/email/history?range=7d', {}],
      ['/api/queues/email/pause', { method: 'POST', headers: { 'x-requested-by': 'test' } }],
    ];
    for (const [path, init] of requests) {
      const response = await fetch(`${dash.url}${path}`, init);
      expect(response.status, path).toBe(503);
      expect(response.headers.get('retry-after'), path).toMatch(/^\d+$/);
      expect(((await response.json()) as ErrorBody).error.code, path).toBe('redis_unavailable');
    }
    const page = await fetch(`${dash.url}/queue/email`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(503);
    expect(await page.text()).toContain('redis_unavailable');
  });
});
