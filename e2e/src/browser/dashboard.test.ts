/**
 * The dashboard in a real browser against a real stack: chromium (playwright-core) signs in,
 * clicks and types through the pages, and the tests assert what the pages show. Every page
 * visited is saved as a screenshot (screenshots.ts; `UPDATE_SCREENSHOTS=1` refreshes the
 * README's copies in docs/screenshots/).
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '@conveyor/shared/testing';
import { getJson, postJson } from '../stack.ts';
import { PHONE_VIEWPORT, startBrowserStack, type BrowserStack } from './browser-stack.ts';
import { chromiumForTests } from './chromium.ts';
import { expectText, figureValue, openNav, overviewFigures, pageWidths, renderedGreek, rowLinking, scrollBox, search } from './dashboard-ui.ts';
import { startWebhookReceiver } from './webhook-receiver.ts';

const executablePath = chromiumForTests();
const updateDocs = process.env.UPDATE_SCREENSHOTS === '1';

let fixture: BrowserStack;
/** Signed in as the operator for the whole file; tests navigate it from wherever it is. */
let operator: Page;

beforeAll(async () => {
  if (!executablePath) return;
  fixture = await startBrowserStack({ redisUrl: inject('redisUrl'), executablePath, updateDocs });
  operator = await fixture.signedIn(fixture.users.operator);
});

afterAll(async () => {
  if (!fixture) return;
  expect(await fixture.close()).toEqual({ producer: 0, worker: 0, dashboard: 0 });
});

const unique = () => randomBytes(4).toString('hex');

async function enqueue(name: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<string> {
  const created = await postJson(`${fixture.stack.producerUrl}/v1/jobs/${name}`, body, headers);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.id as string;
}

/**
 * A webhook to a destination the SSRF guard refuses: dead-lettered after one attempt (permanent).
 * Returns its job id, which the producer derives from the idempotency key (`idem-…`).
 */
async function deadLetteredWebhook(idempotencyKey: string, invoiceId: string): Promise<string> {
  const jobId = await enqueue(
    'webhook.deliver',
    { data: { url: 'http://localhost:9/hook', event: 'invoice.paid', payload: { invoiceId } } },
    { 'idempotency-key': idempotencyKey },
  );
  await waitFor(async () => (await getJson(`${fixture.stack.producerUrl}/v1/jobs/webhook.deliver/${jobId}`)).body.state === 'dead-lettered', {
    what: `webhook ${jobId} to be dead-lettered`,
  });
  return jobId;
}

/** Failed attempts over a history answer of GET /api/queues/:name/history (its steps, the one in progress too). */
function failedAttemptsIn(history: { points: { failedAttempts: number }[] }): number {
  return history.points.reduce((sum, point) => sum + point.failedAttempts, 0);
}

async function enqueueEmails(count: number, label: string): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, (_, i) => enqueue('email.send', { data: { to: `${label}.${i}@example.com`, subject: 'Digest', body: 'Weekly digest' } })),
  );
}

describe.skipIf(!executablePath)('the dashboard in a browser', () => {
  it('signs an operator in through the form, after refusing a wrong password', async () => {
    const page = await (await fixture.newContext()).newPage();
    await page.goto('/');
    expect(new URL(page.url()).pathname).toBe('/login');
    await fixture.screenshot(page, 'login');

    const { name, password } = fixture.users.operator;
    await page.getByLabel('User', { exact: true }).fill(name);
    await page.getByLabel('Password', { exact: true }).fill(`${password}-wrong`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expectText(page.getByRole('alert'), 'Wrong user name or password.');
    expect(new URL(page.url()).pathname).toBe('/login');

    await page.getByLabel('Password', { exact: true }).fill(password);
    await Promise.all([page.waitForURL((url) => url.pathname === '/'), page.getByRole('button', { name: 'Sign in' }).click()]);
    expect(await page.locator('header.top .who').textContent()).toBe(`${name} (operator)`);
    const queues = await page.locator('table.queues tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-queue')));
    expect(queues).toEqual(expect.arrayContaining(['email', 'webhook', 'report']));
  });

  // Runs before the other tests enqueue e-mail, so the queue's figures start from nothing.
  it('updates the email queue’s live figures in place while jobs run', async () => {
    await openNav(operator, 'Overview');
    const before = await overviewFigures(operator, 'email');
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['backlog', 'arrivalRate', 'completionRate', 'deadLetters']));
    // Marks this document: still there at the end means the page updated itself, no reload.
    await operator.locator('body').evaluate((body) => body.setAttribute('data-test-mark', 'before-jobs'));

    await enqueueEmails(12, 'digest');
    const after = await waitFor(
      async () => {
        const now = await overviewFigures(operator, 'email');
        return figureValue(now.arrivalRate!) > figureValue(before.arrivalRate!) && figureValue(now.completionRate!) > figureValue(before.completionRate!) ? now : undefined;
      },
      { what: 'the overview to show e-mails arriving and completing', timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(after.arrivalRate).toMatch(/^[\d.]+\/s$/);
    expect(await operator.locator('body').getAttribute('data-test-mark')).toBe('before-jobs');
    // W and S over the same minute as the queue page: once jobs ran, figures, not dashes.
    const latencies = await waitFor(
      async () => {
        const now = await overviewFigures(operator, 'email');
        return /\d/.test(now.waitP95Ms!) && /\d/.test(now.serviceP95Ms!) ? now : undefined;
      },
      { what: 'the overview to show W p95 and S p95 of the e-mails', timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(latencies.serviceP95Ms).toMatch(/^[\d.]+ (ms|s)$/);
    // The dead-letter count keeps its per-minute sparkline through the live updates.
    const deadLetters = operator.locator('tr[data-queue="email"] td[data-figure="deadLetters"]');
    expect(await deadLetters.locator('a').textContent()).toMatch(/^\d+$/);
    expect(await deadLetters.locator('svg path').count()).toBe(1);
    await expectText(operator.locator('#overview-meta .window'), 'over the last minute');
    // Greek figures stay lower case: λ and θ, never Λ and Θ.
    const greek = await renderedGreek(operator);
    expect(greek).toEqual(expect.arrayContaining(['λ', 'θ']));
    for (const text of greek) expect(text, text).not.toMatch(/[ΛΘΡ]/);
    await fixture.screenshot(operator, 'overview');

    const phone = await fixture.signedIn(fixture.users.operator, { viewport: PHONE_VIEWPORT, isMobile: true });
    await phone.locator('tr[data-queue="email"]').waitFor();
    await fixture.screenshot(phone, 'overview-phone');
  });

  it('redraws the email queue’s uPlot failure chart when sends start failing', async () => {
    // Its own page: the test runs the page's clock forward to its next history refresh.
    const page = await fixture.signedIn(fixture.users.operator);
    const probe = await page.request.get('/queue/email');
    expect(probe.status(), 'GET /queue/email: the queue detail page with the uPlot charts').toBe(200);
    await page.clock.install();
    const firstHistory = page.waitForResponse((response) => response.url().includes('/api/queues/email/history'));
    await page.goto('/queue/email');
    const before = failedAttemptsIn(await (await firstHistory).json());
    const failures = page.locator('[data-chart="failures"] .uplot canvas');
    const drawnBefore = await failures.evaluate((canvas) => canvas.toDataURL());

    // Recipients in the reserved .invalid domain fail their sends (temporary, so retried).
    await Promise.all([
      enqueueEmails(4, 'chart'),
      ...[1, 2, 3].map((i) => enqueue('email.send', { data: { to: `bounce.${i}@nowhere.invalid`, subject: 'Digest', body: 'Weekly digest' } })),
    ]);
    // The server keeps a history answer a few seconds: wait until it tells of the failures.
    await waitFor(async () => failedAttemptsIn(await (await page.request.get('/api/queues/email/history?range=1h')).json()) > before, {
      what: 'the email history to count failed attempts',
      timeoutMs: 20_000,
      intervalMs: 250,
    });
    const refreshMs = Number(await page.locator('body').getAttribute('data-refresh-ms'));
    const nextHistory = page.waitForResponse((response) => response.url().includes('/api/queues/email/history'));
    await page.clock.runFor(refreshMs);
    expect(failedAttemptsIn(await (await nextHistory).json())).toBeGreaterThan(before);
    await waitFor(
      async () => {
        await page.clock.runFor(50);
        return (await failures.evaluate((canvas) => canvas.toDataURL())) !== drawnBefore;
      },
      { what: 'the failure chart to be redrawn with the new figures' },
    );
    // Point at the newest minutes, as a person would, from the right edge leftwards: the
    // legend reads the rate the chart now holds. The failures may sit in the minute before
    // the newest one when the run crossed a minute boundary, so the newest alone is not enough.
    const plot = page.locator('[data-chart="failures"] .u-over');
    const { width, height } = (await plot.boundingBox())!;
    const legend = page.locator('[data-chart="failures"] .u-legend tr.u-series').nth(1);
    expect(await legend.locator('th').textContent()).toContain('failed attempts');
    const shown: number[] = [];
    for (let x = width - 1; x > width / 2 && !shown.some((value) => value > 0); x -= 3) {
      await plot.hover({ position: { x, y: height / 2 } });
      await page.clock.runFor(20);
      shown.push(figureValue((await legend.locator('.u-value').textContent()) ?? ''));
    }
    expect(Math.max(...shown), `legend values from the right edge: ${shown.join(', ')}`).toBeGreaterThan(0);
    // The minute in progress is in the history, marked as such; the page's Greek stays lower case.
    const latest = (await (await page.request.get('/api/queues/email/history?range=1h')).json()) as { points: { partial: boolean; toMs: number }[] };
    expect(latest.points.at(-1)).toMatchObject({ partial: true });
    expect(latest.points.filter((p) => p.partial)).toHaveLength(1);
    const greek = await renderedGreek(page);
    expect(greek.length).toBeGreaterThan(0);
    for (const text of greek) expect(text, text).not.toMatch(/[ΛΘΡ]/);
    await fixture.screenshot(page, 'queue-detail', { fullPage: true });
  });

  it('sends an open overview to the sign-in page when its session is signed out in another tab', async () => {
    const watching = await fixture.signedIn(fixture.users.viewer);
    await watching.goto('/');
    await watching.locator('tr[data-queue="email"]').waitFor();
    const other = await watching.context().newPage();
    await other.goto('/workers');
    await Promise.all([other.waitForURL((url) => url.pathname === '/login'), other.getByRole('button', { name: 'Sign out' }).click()]);
    // The stream is checked before its next push, says signed-out, and the page leaves.
    await watching.waitForURL((url) => url.pathname === '/login' && url.searchParams.get('next') === '/', { timeout: 15_000 });
    await watching.context().close();
  });

  it('finds a job enqueued over HTTP by its recipient on the Search page', async () => {
    const to = `grace.${unique()}@example.com`;
    const id = await enqueue('email.send', { data: { to, subject: 'Your invoice', body: 'Thanks!' } });
    await openNav(operator, 'Search');
    await search(operator, to);

    const cells = await rowLinking(operator, 'table.search-results', id).locator('td').allTextContents();
    expect(cells.slice(0, 3)).toEqual([id, 'email.send', 'email']);
    expect(['waiting', 'active', 'completed']).toContain(cells[3]);
    expect(cells[4]).toBe('to');
    await fixture.screenshot(operator, 'search');
  });

  it('redrives a dead-letter record with an edited payload by clicking, and the job then completes', async () => {
    const receiver = await startWebhookReceiver();
    try {
      const jobId = await deadLetteredWebhook(`refund-hook-${unique()}`, 'inv_redrive');

      await openNav(operator, 'Dead letters');
      const listed = rowLinking(operator, 'table.dead-letters', jobId);
      expect(await listed.locator('td').allTextContents()).toEqual(expect.arrayContaining(['webhook', 'webhook.deliver', 'permanent']));
      await fixture.screenshot(operator, 'dead-letters');

      await listed.getByRole('link', { name: jobId, exact: true }).click();
      await operator.waitForURL(`**/dead-letters/webhook/${jobId}`);
      expect(await operator.locator('h1').textContent()).toBe(`Dead letter ${jobId}`);
      expect(await operator.locator('.dl-payload').textContent()).toContain('http://localhost:9/hook');
      await expectText(operator.locator('main'), 'Never redriven.');
      await fixture.screenshot(operator, 'dead-letter', { fullPage: true });

      // The refused URL would fail again: point the payload at the receiver, then redrive.
      await operator.locator('textarea[name="edit"]').fill(JSON.stringify({ url: receiver.url, event: 'invoice.paid', payload: { invoiceId: 'inv_redrive' } }));
      await Promise.all([operator.waitForURL('**/dead-letters/redrive'), operator.getByRole('button', { name: 'Redrive', exact: true }).click()]);
      expect(await operator.locator('.dl-result').textContent()).toBe('Redriven: 1 of 1 matched; skipped 0; failed 0.');
      await fixture.screenshot(operator, 'redrive-done');

      await operator.getByRole('link', { name: 'Back to the dead letters' }).click();
      expect(await operator.getByRole('link', { name: jobId, exact: true }).count()).toBe(0);

      // The redriven job runs under the record's id: find it and watch it complete.
      await openNav(operator, 'Search');
      await search(operator, jobId);
      const state = rowLinking(operator, 'table.search-results', jobId).locator('.state');
      await waitFor(
        async () => {
          if ((await state.textContent()) === 'completed') return true;
          await operator.reload();
          return false;
        },
        { what: `the redriven job ${jobId} to show as completed`, intervalMs: 200 },
      );
      expect(receiver.bodies.map((body) => JSON.parse(body))).toEqual([expect.objectContaining({ event: 'invoice.paid', payload: { invoiceId: 'inv_redrive' } })]);
    } finally {
      await receiver.close();
    }
  });

  it('shows a viewer no redrive controls and answers 403 when the viewer posts a redrive anyway', async () => {
    const jobId = await deadLetteredWebhook(`viewer-hook-${unique()}`, 'inv_viewer');
    const viewer = await fixture.signedIn(fixture.users.viewer);
    expect(await viewer.locator('header.top .who').textContent()).toBe(`${fixture.users.viewer.name} (viewer)`);

    await openNav(viewer, 'Dead letters');
    expect(await viewer.getByRole('button', { name: /redrive/i }).count()).toBe(0);
    await viewer.getByRole('link', { name: jobId, exact: true }).click();
    await viewer.waitForURL(`**/dead-letters/webhook/${jobId}`);
    expect(await viewer.locator('h1').textContent()).toBe(`Dead letter ${jobId}`);
    expect(await viewer.getByRole('button', { name: /redrive/i }).count()).toBe(0);
    expect(await viewer.locator('textarea[name="edit"]').count()).toBe(0);
    await fixture.screenshot(viewer, 'dead-letter-viewer', { fullPage: true });

    // What a hand-made request from the viewer's own page gets, with its session and CSRF token.
    const token = await viewer.locator('meta[name="csrf-token"]').getAttribute('content');
    expect(token).toBeTruthy();
    const answers = await viewer.evaluate(async ({ id, token }) => {
      const api = await fetch('/api/dead-letters/redrive', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': token },
        body: JSON.stringify({ queue: 'webhook', ids: [id] }),
      });
      const form = await fetch('/dead-letters/redrive', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ _csrf: token, sel: `webhook/${id}`, step: 'run' }),
      });
      return { api: { status: api.status, body: await api.json() }, form: { status: form.status, body: await form.json() } };
    }, { id: jobId, token: token! });
    expect(answers.api).toEqual({ status: 403, body: { error: expect.objectContaining({ code: 'forbidden' }) } });
    expect(answers.form).toEqual({ status: 403, body: { error: expect.objectContaining({ code: 'forbidden' }) } });

    await viewer.reload();
    await expectText(viewer.locator('main'), 'Never redriven.');
  });

  it('lists the live worker and the alert rules, the webhook dead letters firing', async () => {
    await openNav(operator, 'Workers');
    const workers = operator.locator('table.workers tbody tr');
    expect(await workers.count()).toBe(1);
    expect(await workers.locator('.worker-queues code').allTextContents()).toEqual(expect.arrayContaining(['email', 'webhook', 'report']));
    await fixture.screenshot(operator, 'workers');

    await openNav(operator, 'Alerts');
    const firing = operator.locator('table.alerts tr[data-rule="webhook dead letters"][data-queue="webhook"]');
    await waitFor(
      async () => {
        if ((await firing.getAttribute('data-state')) === 'firing') return true;
        await operator.reload();
        return false;
      },
      { what: 'the "webhook dead letters" alert to fire', intervalMs: 250 },
    );
    expect(await operator.locator('table.alerts tr[data-rule="email backlog"][data-queue="email"]').getAttribute('data-state')).toBe('ok');
    await fixture.screenshot(operator, 'alerts');
  });

  it('fits every page into a phone’s 390 px: the navigation wraps, wide tables scroll in their own box', async () => {
    const phone = await fixture.signedIn(fixture.users.operator, { viewport: PHONE_VIEWPORT, isMobile: true });
    await phone.goto('/dead-letters');
    // Every record's page: their ids differ in length (`~17`, `idem-<32 hex>`), and the longest must fit too.
    const records = [...new Set(await phone.locator('table.dead-letters tbody tr td a[href^="/dead-letters/"]').evaluateAll((links) => links.map((link) => link.getAttribute('href')!)))];
    expect(records.length).toBeGreaterThan(0);
    for (const path of ['/', '/dead-letters', ...records, '/workers', '/search?q=example.com', '/alerts', '/audit', '/queue/email', '/queue/email?range=24h']) {
      await phone.goto(path);
      await phone.waitForLoadState('load');
      const width = await pageWidths(phone);
      // The viewport stays the phone's (no zooming out to fit), and nothing is wider than it.
      expect(width.viewport, path).toBe(PHONE_VIEWPORT.width);
      expect(width.page, path).toBeLessThanOrEqual(width.viewport);
      expect(width.body, path).toBeLessThanOrEqual(width.viewport);
    }
    // The dead-letter table is wider than the phone: it scrolls inside its box.
    await phone.goto('/dead-letters');
    const table = await scrollBox(phone.locator('.table-wrap:has(table.dead-letters)'));
    expect(table.overflowX).toBe('auto');
    expect(table.scroll).toBeGreaterThan(table.client);
    await fixture.screenshot(phone, 'dead-letters-phone', { fullPage: true });
  });

  it('asks no other host for anything, bull-board’s page included', async () => {
    const page = await fixture.signedIn(fixture.users.viewer);
    await page.goto('/queues/');
    await page.getByText('email', { exact: true }).first().waitFor();
    await page.waitForLoadState('load');
    const origin = new URL(fixture.stack.dashboardUrl).origin;
    const requested = [...fixture.requests];
    expect(requested.some((url) => url.startsWith(`${origin}/queues/static/`))).toBe(true);
    expect(requested.filter((url) => !url.startsWith(`${origin}/`) && !/^(data|blob):/.test(url))).toEqual([]);
  });

  // Only when refreshing the README's screenshots: a few minutes of e-mail traffic, so the
  // overview's sparklines (whole minutes of history, re-read once a minute) have a shape.
  it.runIf(updateDocs)('retakes the overview once a few minutes of traffic show as sparklines', { timeout: 540_000 }, async () => {
    const page = await fixture.signedIn(fixture.users.operator);
    let round = 0;
    await waitFor(
      async () => {
        await enqueueEmails(4 + ((round++ * 7) % 13), `screenshot-${round}`);
        const overview = (await (await page.request.get('/api/overview')).json()) as { queues: { name: string; series?: { arrivalRate: (number | null)[] } | null }[] };
        const arrivals = overview.queues.find((q) => q.name === 'email')?.series?.arrivalRate ?? [];
        return arrivals.filter((rate) => rate !== null).length >= 5;
      },
      { what: 'five whole minutes of e-mail arrivals in the overview’s series', timeoutMs: 500_000, intervalMs: 10_000 },
    );
    await page.goto('/');
    await page.locator('tr[data-queue="email"]').waitFor();
    await fixture.screenshot(page, 'overview');
  });
});
