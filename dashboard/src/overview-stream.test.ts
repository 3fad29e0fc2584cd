/** The live overview over real HTTP against a real Redis: GET /api/overview/stream, GET /api/overview and the page. */
import { createQueueModelRecorder, jobKinds, type QueueModelRecorder, queuePrefix } from '@conveyor/shared';
import { testPrefix, waitFor } from '@conveyor/shared/testing';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { basic, signIn, signOut, testUsers } from './access-fixture.ts';
import { sessionKey } from './access/session-store.ts';
import { startDashboard, type DashboardFixture } from './dashboard-fixture.ts';
import { openEventStream, type EventStreamClient, type StreamEvent } from './event-stream-fixture.ts';
import type { OverviewQueue, OverviewSnapshot } from './overview-snapshot.ts';
import { sparklinePath } from './ui/sparkline.ts';

const redisUrl = inject('redisUrl');

const snapshotOf = (event: StreamEvent) => JSON.parse(event.data) as OverviewSnapshot;
const queueOf = (event: StreamEvent, name: string) => snapshotOf(event).queues.find((q) => q.name === name)!;
const email = (match: (q: OverviewQueue) => boolean) => (event: StreamEvent) => event.event === 'overview' && match(queueOf(event, 'email'));

describe('the overview stream follows the queues as jobs come and go', () => {
  const prefix = testPrefix('ovs');
  let dash: DashboardFixture;
  let stream: EventStreamClient | undefined;
  let worker: Worker | undefined;
  let recorder: QueueModelRecorder | undefined;
  const recorderRedis = new Redis(redisUrl, { lazyConnect: true });

  beforeAll(async () => {
    dash = await startDashboard({ redisUrl, prefix, refreshMs: 200 });
    // Its Redis is fail-fast: a poll before it has connected reports Redis unreachable.
    await waitFor(async () => (await fetch(`${dash.url}/readyz`)).status === 200, { what: 'the dashboard to be ready' });
  });

  afterAll(async () => {
    stream?.close();
    await worker?.close();
    await recorder?.close();
    recorderRedis.disconnect();
    await dash?.close();
  });

  it('streams as text/event-stream, uncached and unbuffered, with a retry line', async () => {
    const probe = await openEventStream(`${dash.url}/api/overview/stream`);
    try {
      expect(probe.response.status).toBe(200);
      expect(probe.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(probe.response.headers.get('cache-control')).toMatch(/no-store/);
      expect(probe.response.headers.get('x-accel-buffering')).toBe('no');
      expect(probe.response.headers.get('content-encoding')).toBeNull();
      const first = await probe.next((e) => e.event === 'overview', { what: 'a first snapshot' });
      expect(probe.retries).toEqual([200]);
      const snapshot = snapshotOf(first);
      expect(snapshot.error).toBeNull();
      expect(snapshot.queues.map((q) => q.name)).toEqual(['email', 'webhook', 'report']);
      expect(snapshot.queues[0]).toMatchObject({ name: 'email', paused: false, deadLetters: 0, health: { level: 'green', reasons: [] } });
      expect(snapshot.queues[0]!.series?.backlog).toHaveLength(60);
    } finally {
      probe.close();
    }
  });

  it('pushes new figures as jobs are enqueued, a worker appears and drains them', async () => {
    stream = await openEventStream(`${dash.url}/api/overview/stream`);
    await stream.next(email((q) => q.figures?.backlog === 0), { what: 'an empty email queue' });

    const queue = dash.queues.get('email');
    const example = jobKinds['email.send'].example;
    await Promise.all([1, 2, 3].map((n) => queue.add('email.send', example, { jobId: `overview-${n}` })));
    const waiting = await stream.next(email((q) => q.figures?.backlog === 3), { what: 'a backlog of 3' });
    expect(queueOf(waiting, 'email')).toMatchObject({
      text: { backlog: '3', liveWorkers: '0' },
      health: { level: 'red', reasons: expect.arrayContaining(['backlog with no live worker']) },
    });

    // A worker process announces itself (the queue model's heartbeat), then takes the jobs.
    recorder = createQueueModelRecorder({ redis: recorderRedis, prefix, concurrency: { email: 1 } });
    const from = stream.events.length;
    const staffed = await stream.next(email((q) => q.figures?.liveWorkers === 1), { from, what: 'one live worker' });
    expect(queueOf(staffed, 'email').health.reasons).not.toContain('backlog with no live worker');

    worker = new Worker('email', async () => 'sent', { connection: { url: redisUrl }, prefix: queuePrefix(prefix, 'email') });
    worker.on('error', () => {});
    const drained = await stream.next(email((q) => q.figures?.backlog === 0 && q.figures.inService === 0), { from, what: 'the queue drained' });
    expect(queueOf(drained, 'email').text.drainEtaSec).toBe('empty');
    expect(await queue.getCompletedCount()).toBe(3);
  });

  it('sends the series once, then only when they change', async () => {
    const probe = await openEventStream(`${dash.url}/api/overview/stream`);
    try {
      const [first, second] = [await probe.next((e) => e.event === 'overview'), await probe.next(() => true, { from: 1 })];
      expect(queueOf(first, 'email').series?.backlog).toHaveLength(60);
      expect(snapshotOf(second).seriesAtMs).toBe(snapshotOf(first).seriesAtMs);
      expect(queueOf(second, 'email')).not.toHaveProperty('series');
    } finally {
      probe.close();
    }
  });

  it('answers the same snapshot as JSON, and renders it on the page with links', async () => {
    await dash.queues.get('webhook').pause();
    // A snapshot younger than refreshMs is shared rather than read again, so the pause shows within one poll.
    const snapshot = await waitFor(async () => {
      const response = await fetch(`${dash.url}/api/overview`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/application\/json/);
      const body = (await response.json()) as OverviewSnapshot;
      return body.queues.find((q) => q.name === 'webhook')?.paused ? body : undefined;
    }, { what: 'the paused webhook queue in GET /api/overview' });
    expect(snapshot.queues.map((q) => q.name)).toEqual(['email', 'webhook', 'report']);
    expect(snapshot.queues[0]).toMatchObject({ name: 'email', figures: { backlog: 0 }, text: { backlog: '0' } });

    const page = await (await fetch(`${dash.url}/`, { headers: { accept: 'text/html' } })).text();
    const row = /<tr data-queue="webhook"[\s\S]*?<\/tr>/.exec(page)?.[0] ?? '';
    expect(row).toContain('<a href="/queue/webhook">webhook</a>');
    expect(row).toContain('href="/queues/queue/webhook"');
    expect(row).toContain('<a href="/dead-letters?queue=webhook">0</a>');
    expect(row).toMatch(/<span class="badge paused">paused<\/span>/);
    expect(snapshot.queues.find((q) => q.name === 'webhook')!.health).toEqual({ level: 'paused', reasons: [] });
    expect(row).toContain('<tr data-queue="webhook" data-health="paused">');
    for (const figure of ['backlog', 'arrivalRate', 'completionRate', 'waitP95Ms', 'serviceP95Ms', 'failureRate', 'oldestWaitingMs', 'liveWorkers', 'drainEtaSec']) {
      expect(row).toMatch(new RegExp(`<td class="num" data-figure="${figure}"><span>[^<]+</span><svg viewBox="0 -1 59 12" aria-hidden="true"><path d="[^"]*"/></svg></td>`));
    }
    expect(page).toContain('<script src="/assets/overview.js" defer></script>');
    expect(page).toMatch(/<noscript><meta http-equiv="refresh" content="1"><\/noscript>/);
  });
});

describe('the dead-letter sparkline', () => {
  const prefix = testPrefix('ovs-dlq');
  let dash: DashboardFixture | undefined;
  const recorderRedis = new Redis(redisUrl, { lazyConnect: true });

  afterAll(async () => {
    recorderRedis.disconnect();
    await dash?.close();
  });

  it('draws the jobs dead-lettered in each of the last 60 minutes under the count, on the page and in the stream', async () => {
    // A worker's recorder dead-letters 3 webhook jobs in the minute before this one (its clock a minute back).
    const recorder = createQueueModelRecorder({ redis: recorderRedis, prefix, concurrency: { webhook: 1 }, now: () => Date.now() - 60_000 });
    recorder.deadLettered('webhook', 3);
    await recorder.close();
    dash = await startDashboard({ redisUrl, prefix, refreshMs: 200 });
    await waitFor(async () => (await fetch(`${dash!.url}/readyz`)).status === 200, { what: 'the dashboard to be ready' });

    const stream = await openEventStream(`${dash.url}/api/overview/stream`);
    try {
      const webhook = queueOf(await stream.next((e) => e.event === 'overview' && snapshotOf(e).seriesAtMs !== null, { what: 'a snapshot with series' }), 'webhook');
      const line = webhook.series!.deadLettered;
      expect(line).toHaveLength(60);
      expect(line.reduce<number>((sum, n) => sum + (n ?? 0), 0)).toBe(3);
      expect(line.slice(-2)).toContain(3);
      expect(queueOf(stream.events[0]!, 'email').series!.deadLettered.every((n) => n === 0 || n === null)).toBe(true);

      const page = await (await fetch(`${dash.url}/`, { headers: { accept: 'text/html' } })).text();
      const cell = /<tr data-queue="webhook"[\s\S]*?(<td class="num" data-figure="deadLetters">[\s\S]*?<\/td>)/.exec(page)?.[1];
      expect(cell).toBe(`<td class="num" data-figure="deadLetters"><a href="/dead-letters?queue=webhook">0</a><svg viewBox="0 -1 59 12" aria-hidden="true"><path d="${sparklinePath(line)}"/></svg></td>`);
      expect(sparklinePath(line)).not.toBe(''); // minutes the history never saw draw nothing; the three do
    } finally {
      stream.close();
    }
  });
});

describe('who may follow the overview stream', () => {
  const prefix = testPrefix('ovs-access');
  let dash: DashboardFixture;
  const streams: EventStreamClient[] = [];

  beforeAll(async () => {
    const users = await testUsers({ vic: { role: 'viewer', password: 'vic-password' } });
    dash = await startDashboard({ redisUrl, prefix, refreshMs: 200, access: { users, sessionSecret: 'overview-stream-test-secret-32-chars-long' } });
    await waitFor(async () => (await fetch(`${dash.url}/readyz`)).status === 200, { what: 'the dashboard to be ready' });
  });

  afterEach(() => {
    for (const stream of streams.splice(0)) stream.close();
  });

  afterAll(async () => {
    await dash?.close();
  });

  it('streams to a signed-in viewer', async () => {
    const stream = await openEventStream(`${dash.url}/api/overview/stream`, { authorization: basic('vic', 'vic-password') });
    streams.push(stream);
    expect(stream.response.status).toBe(200);
    const first = await stream.next((e) => e.event === 'overview');
    expect(snapshotOf(first).queues).toHaveLength(3);
  });

  it('answers 401 to a caller who is not signed in, for the stream and the JSON', async () => {
    for (const path of ['/api/overview/stream', '/api/overview']) {
      const response = await fetch(`${dash.url}${path}`, { headers: { accept: 'text/event-stream' } });
      expect(response.status, path).toBe(401);
      expect(response.headers.get('content-type'), path).toMatch(/application\/json/);
      expect(((await response.json()) as { error: { code: string } }).error.code, path).toBe('unauthorized');
    }
    expect(dash.overviewFeed.stats().subscribers).toBe(0);
  });

  /** Resolves within `ms` with what the stream did: ended, or still open. */
  const endsWithin = (stream: EventStreamClient, ms: number) =>
    Promise.race([stream.ended.then(() => 'ended' as const), new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), ms))]);

  it('ends the stream of a session signed out since, saying so, and refuses it the next time', async () => {
    const vic = await signIn(dash.url, 'vic', 'vic-password');
    const stream = await openEventStream(`${dash.url}/api/overview/stream`, { cookie: vic.cookie });
    streams.push(stream);
    expect(stream.response.status).toBe(200);
    await stream.next((e) => e.event === 'overview', { what: 'a first snapshot' });

    const out = await signOut(dash.url, vic);
    expect(out.status).toBe(303);
    const from = stream.events.length;
    await stream.next((e) => e.event === 'signed-out', { from, what: 'the signed-out event' });
    expect(await endsWithin(stream, 2_000)).toBe('ended');
    expect(stream.events.slice(from).filter((e) => e.event === 'overview').length).toBeLessThanOrEqual(1);

    const again = await fetch(`${dash.url}/api/overview/stream`, { headers: { accept: 'text/event-stream', cookie: vic.cookie } });
    expect(again.status).toBe(401);
    await again.body?.cancel();
  });

  it('ends the stream of a session that expired while it was open', async () => {
    const vic = await signIn(dash.url, 'vic', 'vic-password');
    const stream = await openEventStream(`${dash.url}/api/overview/stream`, { cookie: vic.cookie });
    streams.push(stream);
    await stream.next((e) => e.event === 'overview', { what: 'a first snapshot' });
    // What the session's TTL does when it runs out.
    const id = vic.cookie.split('=')[1]!.split('.')[0]!;
    expect(await dash.redis.del(sessionKey(prefix, id))).toBe(1);
    await stream.next((e) => e.event === 'signed-out', { what: 'the signed-out event' });
    expect(await endsWithin(stream, 2_000)).toBe('ended');
  });
});

describe('how long an overview stream lives', () => {
  const prefix = testPrefix('ovs-age');
  let dash: DashboardFixture;

  beforeAll(async () => {
    const users = await testUsers({ vic: { role: 'viewer', password: 'vic-password' } });
    dash = await startDashboard({ redisUrl, prefix, refreshMs: 200, streamMaxAgeMs: 1_000, access: { users, sessionSecret: 'overview-stream-age-secret-32-chars-long!' } });
    await waitFor(async () => (await fetch(`${dash.url}/readyz`)).status === 200, { what: 'the dashboard to be ready' });
  });

  afterAll(async () => {
    await dash?.close();
  });

  it('ends a stream after streamMaxAgeMs however valid the caller, who may reconnect', async () => {
    const vic = await signIn(dash.url, 'vic', 'vic-password');
    const startedAt = Date.now();
    const stream = await openEventStream(`${dash.url}/api/overview/stream`, { cookie: vic.cookie });
    try {
      await stream.next((e) => e.event === 'overview', { what: 'a first snapshot' });
      await stream.ended;
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(900);
      expect(stream.events.some((e) => e.event === 'signed-out')).toBe(false);
      await waitFor(() => dash.overviewFeed.stats().subscribers === 0, { what: 'the ended stream to unsubscribe' });
    } finally {
      stream.close();
    }
    const again = await openEventStream(`${dash.url}/api/overview/stream`, { cookie: vic.cookie });
    try {
      expect(again.response.status).toBe(200);
      await again.next((e) => e.event === 'overview', { what: 'a snapshot on the new stream' });
    } finally {
      again.close();
    }
  });
});
