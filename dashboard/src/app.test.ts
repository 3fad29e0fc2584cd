import { jobKinds, queuePrefix } from '@conveyor/shared';
import { testPrefix, waitFor } from '@conveyor/shared/testing';
import { Worker, type Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startDashboard, type DashboardFixture } from './dashboard-fixture.ts';

const redisUrl = inject('redisUrl');
const zero = { waiting: 0, prioritized: 0, delayed: 0, active: 0, completed: 0, failed: 0, paused: 0, waitingChildren: 0, deadLettered: 0 };

/** One queue's row on the overview page: its health and the text of each figure cell, as { figure: text }. */
function rowOf(page: string, queue: string): { html: string; health: string; cells: Record<string, string> } {
  const match = new RegExp(`<tr data-queue="${queue}" data-health="(\\w+)">([\\s\\S]*?)</tr>`).exec(page);
  if (!match) throw new Error(`no row for queue ${queue} in:\n${page}`);
  const row = match[2]!;
  const cells = Object.fromEntries(
    [...row.matchAll(/data-figure="(\w+)">(?:<span>|<a [^>]*>)?([^<]*)/g)].map((m) => [m[1], m[2]]),
  );
  return { html: row, health: match[1]!, cells };
}

describe('dashboard over real HTTP with jobs in every state', () => {
  const prefix = testPrefix('dash');
  let dash: DashboardFixture;
  let worker: Worker | undefined;
  let release: () => void = () => {};

  beforeAll(async () => {
    dash = await startDashboard({ redisUrl, prefix });
    // Workers own their connections (BullMQ opens and closes them).
    const connection = { url: redisUrl };
    const email = dash.queues.get('email');
    const example = jobKinds['email.send'].example;

    // One completed and one failed email job, through a real worker that then goes away.
    const emailWorker = new Worker(
      'email',
      async (job: Job) => {
        if (job.id === 'will-fail') throw new Error('boom');
        return 'sent';
      },
      { connection, prefix: queuePrefix(prefix, 'email') },
    );
    emailWorker.on('error', () => {});
    try {
      await email.add('email.send', example, { jobId: 'will-fail', attempts: 1 });
      await email.add('email.send', example, { jobId: 'will-complete' });
      await waitFor(async () => {
        const counts = await email.getJobCounts('completed', 'failed');
        return counts.completed === 1 && counts.failed === 1;
      }, { what: 'one completed and one failed email job' });
    } finally {
      await emailWorker.close();
    }
    // With no worker left: two waiting, one prioritized, one delayed.
    await email.add('email.send', example);
    await email.add('email.send', example);
    await email.add('email.send', example, { priority: 5 });
    await email.add('email.send', example, { delay: 60_000 });

    // Two dead-letter records of the webhook queue (records wait in its paused `-dlq` queue).
    const webhookDlq = dash.queues.deadLetterQueue('webhook');
    await webhookDlq.pause();
    await webhookDlq.add('webhook.deliver', { sourceQueue: 'webhook', sourceJobId: 'a' }, { jobId: 'a' });
    await webhookDlq.add('webhook.deliver', { sourceQueue: 'webhook', sourceJobId: 'b' }, { jobId: 'b' });

    // A paused queue keeps new jobs in waiting.
    const webhook = dash.queues.get('webhook');
    await webhook.pause();
    await webhook.add('webhook.deliver', jobKinds['webhook.deliver'].example);
    await webhook.add('webhook.deliver', jobKinds['webhook.deliver'].example);

    // One report job held active by a worker until the tests are done.
    const held = new Promise<void>((resolve) => (release = resolve));
    worker = new Worker('report', () => held, { connection, prefix: queuePrefix(prefix, 'report') });
    worker.on('error', () => {});
    await dash.queues.get('report').add('report.generate', jobKinds['report.generate'].example);
    await waitFor(async () => (await dash.queues.get('report').getActiveCount()) === 1, { what: 'an active report job' });
  });

  afterAll(async () => {
    release();
    await worker?.close();
    await dash?.close();
  });

  it('reports exact counts by state for every catalog queue as JSON', async () => {
    const response = await fetch(`${dash.url}/api/queues`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await response.json()) as { queues: { figures: unknown; recommendedWorkers: unknown }[]; generatedAt: string };
    expect(Number.isNaN(Date.parse(body.generatedAt))).toBe(false);
    expect(body.queues.map(({ figures: _, recommendedWorkers: __, ...summary }) => summary)).toEqual([
      {
        name: 'email',
        description: 'Transactional e-mail: short, I/O-bound jobs',
        paused: false,
        counts: { ...zero, waiting: 2, prioritized: 1, delayed: 1, completed: 1, failed: 1 },
      },
      {
        name: 'webhook',
        description: 'Outgoing webhooks to customer endpoints',
        paused: true,
        counts: { ...zero, waiting: 2, deadLettered: 2 },
      },
      {
        name: 'report',
        description: 'Long-running report generation',
        paused: false,
        counts: { ...zero, active: 1 },
      },
    ]);
    // Beside the counts, each queue's model figures (the queue model's QueueFigures).
    expect(body.queues.map((q) => q.figures)).toEqual([
      expect.objectContaining({ queue: 'email', backlog: { total: 3, waiting: 2, prioritized: 1, delayedDue: 0 }, delayedLater: 1, inService: 0 }),
      expect.objectContaining({ queue: 'webhook', backlog: { total: 2, waiting: 2, prioritized: 0, delayedDue: 0 }, inService: 0 }),
      expect.objectContaining({ queue: 'report', backlog: { total: 0, waiting: 0, prioritized: 0, delayedDue: 0 }, inService: 1 }),
    ]);
    // And the worker processes each needs (metrics.test.ts sizes a real load): every queue has
    // work and no measured service time, so one each.
    expect(body.queues.map((q) => q.recommendedWorkers)).toEqual([1, 1, 1]);
  });

  it('renders the same queues on the overview page: figures, health, links and a paused badge', async () => {
    const response = await fetch(`${dash.url}/`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    const page = await response.text();

    // Two waiting and one prioritized are the backlog; the delayed job is not due yet. No worker is live.
    const email = rowOf(page, 'email');
    expect(email.cells).toMatchObject({ backlog: '3', liveWorkers: '0', deadLetters: '0' });
    expect(email.health).toBe('red');
    expect(email.html).toContain('<span class="health red">critical</span><small>backlog with no live worker');
    expect(email.html).toContain('<a href="/queue/email">email</a>');
    expect(email.html).toContain('href="/queues/queue/email"');
    expect(email.html).toContain('Transactional e-mail: short, I/O-bound jobs');
    expect(email.html).not.toContain('badge');

    const webhook = rowOf(page, 'webhook');
    expect(webhook.cells).toMatchObject({ backlog: '2', deadLetters: '2' });
    expect(webhook.html).toContain('<a href="/dead-letters?queue=webhook">2</a>');
    expect(webhook.html).toMatch(/<span class="badge paused">paused<\/span>/);

    // The report job is active, not waiting: nothing to drain.
    const report = rowOf(page, 'report');
    expect(report.cells).toMatchObject({ backlog: '0', drainEtaSec: 'empty' });
    expect(report.health).toBe('green');
    expect(page).not.toContain('Redis unreachable');
  });

  it('keeps the overview live through a same-origin script, with a no-script meta refresh', async () => {
    const page = await (await fetch(`${dash.url}/`)).text();
    expect(page).toContain('<script src="/assets/overview.js" defer></script>');
    expect(page).toContain('data-refresh-ms="5000"');
    expect(page).toContain('data-stream-url="/api/overview/stream"');
    expect(page).toMatch(/<noscript><meta http-equiv="refresh" content="5"><\/noscript>/);
    expect(page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);

    const script = await fetch(`${dash.url}/assets/overview.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    const source = await script.text();
    expect(source).toContain('data-stream-url');
    expect(source).toContain('new EventSource(');
    const css = await fetch(`${dash.url}/assets/overview.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/text\/css/);
  });

  it('serves bull-board at /queues with every asset its page references', async () => {
    const response = await fetch(`${dash.url}/queues`);
    expect(response.status).toBe(200);
    const page = await response.text();
    expect(page).toContain('<base href="/queues/" />');

    const assets = [...page.matchAll(/<(?:script[^>]*\bsrc|link[^>]*\bhref)="(static\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.filter((a) => a.endsWith('.js')).length).toBeGreaterThan(0);
    expect(assets.filter((a) => a.endsWith('.css')).length).toBeGreaterThan(0);
    for (const asset of assets) {
      const assetResponse = await fetch(`${dash.url}/queues/${asset}`);
      expect(assetResponse.status, asset).toBe(200);
      await assetResponse.arrayBuffer();
    }

    // Under `script-src 'self'` an inline script would not run: the page's only inline script
    // must be a JSON data block. Its inline styles need `style-src 'unsafe-inline'`.
    const inlineScripts = [...page.matchAll(/<script(?![^>]*\bsrc=)([^>]*)>/g)].map((m) => m[1]);
    expect(inlineScripts).toEqual([' id="__UI_CONFIG__" type="application/json"']);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/style-src [^;]*'unsafe-inline'/);
  });

  it("answers bull-board's API with every catalog queue and its dead-letter queue", async () => {
    const response = await fetch(`${dash.url}/queues/api/queues`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      queues: { name: string; description: string; isPaused: boolean; readOnlyMode: boolean; counts: Record<string, number> }[];
    };
    expect(body.queues.map((q) => q.name).sort()).toEqual(['email', 'email-dlq', 'report', 'report-dlq', 'webhook', 'webhook-dlq']);
    const webhookDlq = body.queues.find((q) => q.name === 'webhook-dlq')!;
    expect(webhookDlq.readOnlyMode).toBe(true);
    expect(webhookDlq.description).toMatch(/^Dead letters of "webhook"/);
    const email = body.queues.find((q) => q.name === 'email')!;
    expect(email.description).toBe('Transactional e-mail: short, I/O-bound jobs');
    expect(email.counts.failed).toBe(1);
    expect(body.queues.find((q) => q.name === 'webhook')!.isPaused).toBe(true);
  });

  it('sends security headers that work over plain HTTP: no HSTS, no upgrade-insecure-requests', async () => {
    for (const path of ['/', '/api/queues', '/metrics', '/healthz', '/queues', '/queues/api/queues', '/assets/overview.css', '/nope']) {
      const response = await fetch(`${dash.url}${path}`);
      await response.arrayBuffer();
      const csp = response.headers.get('content-security-policy');
      expect(csp, path).toBeTruthy();
      expect(csp, path).toContain("default-src 'self'");
      expect(csp, path).not.toContain('upgrade-insecure-requests');
      expect(response.headers.get('strict-transport-security'), path).toBeNull();
      expect(response.headers.get('x-powered-by'), path).toBeNull();
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
  });

  it('names no other host: no http(s) source in the CSP, no off-host asset on any page, ours or bull-board\'s', async () => {
    // The machines are offline: a page must not even try to load a font, style or script from elsewhere.
    const offHostAssets = (page: string) => [
      ...[...page.matchAll(/<(?:link|script|img|iframe|source|embed|object|video|audio)\b[^>]*>/gi)]
        .map((tag) => /\b(?:src|href|data|srcset)\s*=\s*["']?((?:https?:)?\/\/[^"'\s>]+)/i.exec(tag[0])?.[1])
        .filter((url): url is string => url !== undefined),
      ...[...page.matchAll(/url\(\s*["']?((?:https?:)?\/\/[^"')]+)|@import\s+["']?((?:https?:)?\/\/[^"';]+)/gi)].map((m) => (m[1] ?? m[2])!),
    ];
    const pages = ['/', '/search?q=nothing', '/dead-letters', '/dead-letters?queue=webhook', '/workers', '/alerts', '/audit', '/queue/email', '/queues', '/queues/queue/email'];
    for (const path of pages) {
      const response = await fetch(`${dash.url}${path}`, { headers: { accept: 'text/html' } });
      expect(response.status, path).toBe(200);
      const page = await response.text();
      expect(offHostAssets(page), path).toEqual([]);
      const csp = response.headers.get('content-security-policy') ?? '';
      const sources = csp.split(';').flatMap((directive) => directive.trim().split(/\s+/).slice(1));
      expect(sources.filter((source) => /^(https?:|\*)|:\/\//.test(source)), path).toEqual([]);
      expect(csp, path).toContain("font-src 'self' data:");
      expect(csp, path).toContain("style-src 'self' 'unsafe-inline'");
    }
    // bull-board's template linked Google Fonts; the board renders it without that link.
    expect(await (await fetch(`${dash.url}/queues`)).text()).not.toMatch(/fonts\.(googleapis|gstatic)\.com/);
    // Stylesheets, ours and bull-board's, import nothing and take no font or image from elsewhere.
    const board = await (await fetch(`${dash.url}/queues`)).text();
    const sheets = ['/assets/overview.css', ...[...board.matchAll(/<link[^>]*\bhref="(static\/[^"]+\.css)"/g)].map((m) => `/queues/${m[1]}`)];
    expect(sheets.length).toBeGreaterThan(1);
    for (const sheet of sheets) expect(offHostAssets(await (await fetch(`${dash.url}${sheet}`)).text()), sheet).toEqual([]);
  });

  it('answers /healthz and /readyz', async () => {
    const health = await fetch(`${dash.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${dash.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready' });
  });

  it('answers unknown routes with 404 in the JSON envelope, or a small page for browsers', async () => {
    const json = await fetch(`${dash.url}/no/such/page`);
    expect(json.status).toBe(404);
    expect(await json.json()).toEqual({ error: { code: 'not_found', message: 'No route for GET /no/such/page' } });

    const page = await fetch(`${dash.url}/no/such/page`, { headers: { accept: 'text/html,*/*;q=0.8' } });
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('not_found');

    const api = await fetch(`${dash.url}/api/nothing`, { headers: { accept: 'text/html' } });
    expect(api.status).toBe(404);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});
