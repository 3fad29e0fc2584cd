import { parsePrometheusText, startRedisServer, testPrefix, waitFor, type RedisServerHandle } from '@conveyor/shared/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type DashboardFixture } from './dashboard-fixture.ts';

/** Fetches `path` and says how long the answer took, in ms. */
async function timedFetch(url: string, init?: RequestInit) {
  const started = performance.now();
  const response = await fetch(url, init);
  const text = await response.text();
  return { response, text, elapsedMs: performance.now() - started };
}

// A private redis-server per file: these tests stop and pause it.
describe('dashboard while Redis is away', () => {
  let server: RedisServerHandle;
  let dash: DashboardFixture;

  beforeAll(async () => {
    server = await startRedisServer();
    dash = await startDashboard({ redisUrl: server.url, prefix: testPrefix('down'), commandTimeoutMs: 500 });
    await waitFor(async () => (await fetch(`${dash.url}/readyz`)).status === 200, { what: 'the dashboard to be ready' });
  });

  afterAll(async () => {
    await dash?.close();
    await server?.stop();
  });

  it('answers 503 within the deadline when Redis is connected but does not answer', async () => {
    const admin = new Redis(server.url);
    try {
      // Long enough for the four requests below, each held to the 500 ms deadline; UNPAUSE ends it.
      await admin.client('PAUSE', 4_000, 'ALL');
      const metrics = await timedFetch(`${dash.url}/metrics`);
      expect(metrics.response.status).toBe(503);
      expect(metrics.elapsedMs).toBeLessThan(1_000);
      expect(metrics.text).toMatch(/^# Queue figures unavailable \(redis_unavailable\): Redis did not answer/);
      for (const path of ['/api/queues', '/readyz']) {
        const { response, text, elapsedMs } = await timedFetch(`${dash.url}${path}`);
        expect(response.status, path).toBe(503);
        expect(elapsedMs, path).toBeLessThan(1_000);
        expect(JSON.parse(text).error.code, path).toBe('redis_unavailable');
      }
      const page = await timedFetch(`${dash.url}/`);
      expect(page.response.status).toBe(503);
      expect(page.elapsedMs).toBeLessThan(1_000);
      expect(page.text).toContain('Redis unreachable');
    } finally {
      await admin.client('UNPAUSE').catch(() => {});
      admin.disconnect();
    }
    await waitFor(async () => (await fetch(`${dash.url}/readyz`)).status === 200, { what: 'Redis to answer again' });
  });

  it('answers 503 at once once Redis is down, renders the banner, and recovers when it returns', async () => {
    const { port } = server;
    await server.stop();
    await waitFor(async () => (await fetch(`${dash.url}/readyz`)).status === 503, { what: '/readyz to notice' });

    for (const path of ['/api/queues', '/readyz', '/queues/api/queues']) {
      const { response, text, elapsedMs } = await timedFetch(`${dash.url}${path}`);
      expect(response.status, path).toBe(503);
      expect(elapsedMs, path).toBeLessThan(1_000);
      expect(response.headers.get('retry-after'), path).toMatch(/^\d+$/);
      const body = JSON.parse(text) as { error: { code: string; message: string } };
      expect(body.error.code, path).toBe('redis_unavailable');
      expect(body.error.message, path).toMatch(/Redis/);
    }

    // /metrics: 503 at once (the scrape fails, queue series go stale); the body still carries
    // this process's metrics, for a person with curl.
    const metrics = await timedFetch(`${dash.url}/metrics`);
    expect(metrics.response.status).toBe(503);
    expect(metrics.elapsedMs).toBeLessThan(1_000);
    expect(metrics.response.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(metrics.response.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
    const exposition = parsePrometheusText(metrics.text);
    expect(metrics.text).toMatch(/^# Queue figures unavailable \(redis_unavailable\): Redis is unreachable/);
    expect(exposition.type.get('process_resident_memory_bytes')).toBe('gauge');
    expect([...exposition.names()].filter((name) => name.startsWith('conveyor_'))).toEqual([]);

    const page = await timedFetch(`${dash.url}/`, { headers: { accept: 'text/html' } });
    expect(page.response.status).toBe(503);
    expect(page.elapsedMs).toBeLessThan(1_000);
    expect(page.response.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.text).toMatch(/<div class="banner" role="alert"><strong>Redis unreachable\.<\/strong>/);
    // Every queue is still listed, without figures, its health unknown.
    for (const queue of ['email', 'webhook', 'report']) {
      expect(page.text).toContain(`<tr data-queue="${queue}" data-health="unknown">`);
      expect(page.text).toContain(`href="/queue/${queue}"`);
      expect(page.text).toContain(`href="/queues/queue/${queue}"`);
    }
    expect(page.text).toContain('<td class="num" data-figure="backlog"><span>–</span>');
    expect(page.text).toContain('<td class="num" data-figure="deadLetters">–<svg viewBox="0 -1 1 12" aria-hidden="true"><path d=""/></svg></td>');

    const health = await fetch(`${dash.url}/healthz`);
    expect(health.status).toBe(200);
    await health.arrayBuffer();

    server = await startRedisServer({ port });
    await waitFor(async () => (await fetch(`${dash.url}/api/queues`)).status === 200, {
      what: 'the dashboard to reconnect',
      timeoutMs: 15_000,
    });
    expect((await fetch(`${dash.url}/metrics`)).status).toBe(200);
    const recovered = await fetch(`${dash.url}/`);
    expect(recovered.status).toBe(200);
    expect(await recovered.text()).not.toContain('Redis unreachable');
  });
});
