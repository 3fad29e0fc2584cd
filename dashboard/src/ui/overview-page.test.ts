import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { OverviewQueue, OverviewSeries, OverviewSnapshot } from '../overview-snapshot.ts';
import { escapeHtml, html } from './html.ts';
import { overviewFigureKeys } from './overview-columns.ts';
import { OVERVIEW_WEIGHT_BUDGET, renderOverviewPage } from './overview-page.ts';
import { renderSparkline, sparklinePath } from './sparkline.ts';

/** The page weight budget, checked here for 50 queues in the worst case: all 500 sparklines a full hour that jumps at every minute. */
const BUDGET = OVERVIEW_WEIGHT_BUDGET;

const text = Object.fromEntries(overviewFigureKeys.map((key) => [key, '1.2/s'])) as OverviewQueue['text'];

/** A series that jumps at random at every one of its 60 minutes: the worst case for its path's size. */
function jagged(seed: number): (number | null)[] {
  let state = seed * 7_919 + 1;
  return Array.from({ length: 60 }, () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  });
}

function queue(name: string, overrides: Partial<OverviewQueue> = {}, seed = 0): OverviewQueue {
  const keys = [...overviewFigureKeys, 'deadLettered'] as const;
  const series = Object.fromEntries(keys.map((key, i) => [key, jagged(seed * keys.length + i)])) as OverviewSeries;
  return {
    name,
    description: `Queue ${name}, with a description of a realistic length`,
    paused: false,
    deadLetters: 12,
    figures: {
      backlog: 1_234, arrivalRate: 12.5, completionRate: 11.9, waitP95Ms: 850, serviceP95Ms: 1_200, failureRate: 0.07,
      oldestWaitingMs: 65_000, liveWorkers: 3, drainEtaSec: null, inService: 4, utilization: 0.85, attempts: 120, drainState: 'growing',
    },
    text,
    health: { level: 'amber', reasons: ['utilization ρ ≥ 0.8', 'failure rate ≥ 5 %', 'oldest waiting ≥ 60 s', 'backlog growing'] },
    series,
    ...overrides,
  };
}

function snapshot(queues: OverviewQueue[], overrides: Partial<OverviewSnapshot> = {}): OverviewSnapshot {
  return { atMs: 0, refreshMs: 5_000, error: null, seriesAtMs: 0, alerts: [], queues, ...overrides };
}

describe('overview page rendering', () => {
  it('escapes every interpolated string', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&\``)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;');
    expect(html`<p>${'<b>'}</p>${html`<i>${'&'}</i>`}`.value).toBe('<p>&lt;b&gt;</p><i>&amp;</i>');
  });

  it('cannot be made to emit markup by a queue name, description, reason or error', () => {
    const evil = queue('<script>alert(1)</script>', {
      description: '"><img src=x onerror=alert(2)>',
      paused: true,
      health: { level: 'red', reasons: ['<b onmouseover=x>'] },
    });
    const page = renderOverviewPage({
      snapshot: snapshot([evil], { error: { code: 'redis_unavailable', message: '<iframe onload=alert(3)>' } }),
    });
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<img');
    expect(page).not.toContain('<iframe');
    expect(page).not.toContain('<b onmouseover');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('href="/queue/%3Cscript%3Ealert(1)%3C%2Fscript%3E"');
    expect(page).toContain('href="/queues/queue/%3Cscript%3Ealert(1)%3C%2Fscript%3E"');
    expect(page).toContain('href="/dead-letters?queue=%3Cscript%3Ealert(1)%3C%2Fscript%3E"');
  });

  it('says how often it updates, rounded to whole seconds, and where its stream is', () => {
    const page = renderOverviewPage({ snapshot: snapshot([], { refreshMs: 2_500 }) });
    expect(page).toContain('data-refresh-ms="2500"');
    expect(page).toContain('data-stream-url="/api/overview/stream"');
    expect(page).toContain('<meta http-equiv="refresh" content="3">');
  });

  it('names the window its figures cover, the queue page’s one minute', () => {
    const page = renderOverviewPage({ snapshot: snapshot([queue('email')]) });
    expect(page).toContain('<span class="window">λ, θ, W p95, S p95 and failures over the last minute, like each queue’s page</span>');
  });

  it('writes each health colour with its label and reasons in words', () => {
    const page = renderOverviewPage({
      snapshot: snapshot([
        queue('a', { health: { level: 'red', reasons: ['backlog with no live worker'] } }),
        queue('b', { health: { level: 'green', reasons: [] } }),
        queue('c', { paused: true, health: { level: 'paused', reasons: [] } }),
      ]),
    });
    expect(page).toContain('<tr data-queue="c" data-health="paused">');
    expect(page).toContain('<span class="health paused">paused</span></td>');
    expect(page).toContain('<tr data-queue="a" data-health="red">');
    expect(page).toContain('<span class="health red">critical</span><small>backlog with no live worker</small>');
    expect(page).toContain('<span class="health green">healthy</span></td>');
  });

  it('draws the jobs dead-lettered per minute under the dead-letter count, linked to the dead-letter page', () => {
    const deadLettered = [...Array.from({ length: 57 }, () => 0), 2, 0, 4];
    const page = renderOverviewPage({ snapshot: snapshot([queue('webhook', { deadLetters: 6, series: { ...queue('webhook').series!, deadLettered } })]) });
    expect(page).toContain(
      `<td class="num has-failed" data-figure="deadLetters"><a href="/dead-letters?queue=webhook">6</a><svg viewBox="0 -1 59 12" aria-hidden="true"><path d="${sparklinePath(deadLettered)}"/></svg></td>`,
    );
    expect(sparklinePath(deadLettered)).toBe('M0 10h56l1-5 1 5 1-10');
    expect(page).toContain('title="Records in the dead-letter queue; the line: jobs dead-lettered per minute, last 60 min">dead letters</th>');
  });

  it('renders a row without figures, sparklines or dead letters while Redis is away', () => {
    const away = queue('email', { paused: null, deadLetters: null, figures: null, series: null, health: { level: 'unknown', reasons: [] } });
    const page = renderOverviewPage({ snapshot: snapshot([away], { error: { code: 'redis_unavailable', message: 'down' } }) });
    expect(page).toMatch(/<div class="banner" role="alert"><strong>Redis unreachable\.<\/strong>/);
    expect(page).toContain('<span class="health unknown">unknown</span>');
    expect(page).toContain('<td class="num" data-figure="deadLetters">–<svg viewBox="0 -1 1 12" aria-hidden="true"><path d=""/></svg></td>');
    expect(page).toContain('<path d=""/>');
  });

  it(`stays within ${BUDGET.htmlBytes / 1000} KB of HTML for 50 busy queues, with CSS and script within budget`, () => {
    const queues = Array.from({ length: BUDGET.queues }, (_, i) => queue(`queue-${i}`, {}, i));
    const page = renderOverviewPage({ snapshot: snapshot(queues) });
    const bytes = Buffer.byteLength(page);
    const gzipBytes = gzipSync(page).byteLength;
    expect(page.match(/<tr data-queue=/g)).toHaveLength(50);
    // A sparkline under every figure and under the dead-letter count.
    expect(page.match(/<svg /g)).toHaveLength(50 * (overviewFigureKeys.length + 1));
    expect(bytes).toBeLessThanOrEqual(BUDGET.htmlBytes);
    expect(gzipBytes).toBeLessThanOrEqual(BUDGET.htmlGzipBytes);
    const css = readFileSync(new URL('./assets/overview.css', import.meta.url));
    const js = readFileSync(new URL('./assets/overview.js', import.meta.url));
    expect(css.byteLength).toBeLessThanOrEqual(BUDGET.cssBytes);
    expect(js.byteLength).toBeLessThanOrEqual(BUDGET.jsBytes);
    console.info(`overview page weight, 50 queues: HTML ${bytes} B (gzip ${gzipBytes} B), CSS ${css.byteLength} B, JS ${js.byteLength} B`);
  });
});

describe('sparklines', () => {
  it('draws from the bottom (0) to the top (the maximum) in relative steps, flat runs as one h', () => {
    expect(sparklinePath([0, 5, 10, 10, 10, 5])).toBe('M0 10l1-5 1-5h2l1 5');
    expect(sparklinePath([0, 0, 0])).toBe('M0 10h2');
  });

  it('breaks the line at a minute without data and draws a lone point as a dot', () => {
    expect(sparklinePath([4, null, 2, 4, null])).toBe('M0 0h0M2 5l1-5');
    expect(sparklinePath([null, null])).toBe('');
  });

  it('is an inline SVG hidden from screen readers', () => {
    expect(renderSparkline([1, 2]).value).toBe('<svg viewBox="0 -1 1 12" aria-hidden="true"><path d="M0 5l1-5"/></svg>');
  });

  it('is drawn the same by the page script', () => {
    const script = readFileSync(new URL('./assets/overview.js', import.meta.url), 'utf8');
    const body = /function sparklinePath\(values\) \{[\s\S]*?\n {4}return d;\n {2}\}/.exec(script)?.[0];
    expect(body).toBeDefined();
    const clientPath = new Function('HEIGHT', `${body}; return sparklinePath;`)(10) as (values: (number | null)[]) => string;
    for (const values of [[0, 5, 10, 10, 10, 5], [4, null, 2, 4, null], jagged(3), [null, 1, 1, null, 0]]) {
      expect(clientPath(values)).toBe(sparklinePath(values));
    }
  });
});

describe('the stylesheet', () => {
  it('changes the case of no text, so λ, θ and ρ never show as Λ, Θ and Ρ', () => {
    const css = readFileSync(new URL('./assets/overview.css', import.meta.url), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    expect(css).not.toMatch(/text-transform\s*:\s*(uppercase|capitalize)/);
    expect(css).not.toMatch(/font-variant(-caps)?\s*:[^;}]*(small-caps|all-small-caps|unicase|titling-caps)/);
  });
});
