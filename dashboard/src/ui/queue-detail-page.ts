/**
 * The queue detail page: the queue's current figures, its jobs by state (each linked to that
 * state in bull-board), its dead letters, pause/resume for operators, and charts of its history
 * over 1 h, 24 h or 7 d. The charts are drawn by /assets/queue-detail.js with uPlot
 * (/assets/vendor/uplot.js) from the history API; the same figures are in a table below them,
 * so the page is complete without JavaScript.
 */
import type { HistoryPoint, LatencySummary, QueueFigures } from '@conveyor/shared';
import type { QueueHistory } from '../queue-history.ts';
import { HISTORY_RANGE_NAMES } from '../queue-history.ts';
import { csrfField } from './dead-letters-page.ts';
import { html, type HtmlValue, type SafeHtml } from './html.ts';
import { renderPage } from './layout.ts';
import { currentPageContext } from './page-context.ts';
import { formatDurationMs } from './workers-page.ts';

/** bull-board 9.10.1's job lists (`?status=`), in its order; `latest` is every job, newest first. */
export const BOARD_STATES = ['latest', 'active', 'waiting', 'prioritized', 'waiting-children', 'completed', 'failed', 'delayed', 'paused'] as const;
export type BoardState = (typeof BOARD_STATES)[number];

export type QueueNotice = 'paused' | 'resumed';

/** What the page shows; `detail` is routes/queue-detail.ts's QueueDetail. */
export interface QueueDetailPageOptions {
  detail: {
    name: string;
    description: string;
    paused: boolean;
    counts: Readonly<Record<Exclude<BoardState, 'latest'>, number>>;
    deadLettered: number;
    figures: QueueFigures;
  };
  history: QueueHistory;
  /** Where bull-board is mounted, e.g. `/queues`. */
  boardPath: string;
  /** How often the charts fetch the history again, in ms. */
  refreshMs: number;
  /** The outcome of the action that redirected here. */
  notice?: QueueNotice;
}

/** The charts the script draws, in order: container key and caption. */
export const QUEUE_CHARTS = [
  ['rates', 'λ arrivals vs θ completions (jobs/s)'],
  ['wait', 'W wait, p50 / p95 / p99 (ms)'],
  ['service', 'S service, p50 / p95 / p99 (ms)'],
  ['failures', 'Failure rate (% of attempts)'],
  ['backlog', 'Jobs in the queue'],
] as const;

/** Where bull-board lists `queue`'s jobs in `state`. */
export function boardUrl(boardPath: string, queue: string, state: BoardState): string {
  const base = `${boardPath}/queue/${encodeURIComponent(queue)}`;
  return state === 'latest' ? base : `${base}?status=${state}`;
}

const dash = html`<span class="unknown">–</span>`;

function rate(value: number | null): HtmlValue {
  return value === null ? dash : `${value < 10 ? value.toFixed(2) : value.toFixed(1)}/s`;
}

function ms(value: number | null): HtmlValue {
  if (value === null) return dash;
  return value < 1_000 ? `${Math.round(value)} ms` : `${(value / 1_000).toFixed(value < 10_000 ? 2 : 1)} s`;
}

function percent(ratio: number | null): HtmlValue {
  return ratio === null ? dash : `${(ratio * 100).toFixed(ratio < 0.1 ? 2 : 1)} %`;
}

function percentiles(summary: LatencySummary): SafeHtml {
  return html`${ms(summary.p50Ms)} / ${ms(summary.p95Ms)} / ${ms(summary.p99Ms)}`;
}

function drain(figures: QueueFigures): HtmlValue {
  switch (figures.drain.state) {
    case 'empty':
      return 'empty';
    case 'draining':
      return `in ${formatDurationMs(figures.drain.etaSec * 1_000)}`;
    case 'growing':
      return `growing by ${figures.drain.growthPerSec.toFixed(2)} jobs/s`;
    default:
      return dash;
  }
}

function renderFigures(figures: QueueFigures): SafeHtml {
  const minute = figures.windows['1m'];
  const { backlog } = figures;
  const row = (term: string, value: HtmlValue, key: string) => html`<div><dt>${term}</dt><dd data-figure="${key}">${value}</dd></div>`;
  return html`<dl class="qd-figures">
${row('backlog', html`${backlog.total} <span class="muted">(${backlog.waiting} waiting, ${backlog.prioritized} prioritized, ${backlog.delayedDue} delayed and due)</span>`, 'backlog')}
${row('in service', figures.inService, 'in-service')}
${row('delayed, not yet due', figures.delayedLater, 'delayed-later')}
${row('λ arrivals', rate(minute.arrivalRate), 'arrival-rate')}
${row('θ completions', rate(minute.completionRate), 'completion-rate')}
${row('W wait p50 / p95 / p99', percentiles(minute.wait), 'wait')}
${row('S service p50 / p95 / p99', percentiles(minute.service), 'service')}
${row('failure rate', percent(minute.failureRate), 'failure-rate')}
${row('oldest waiting', figures.oldestWaitingAgeMs === null ? 'none waiting' : formatDurationMs(figures.oldestWaitingAgeMs), 'oldest-waiting')}
${row('workers', html`${figures.workers.live} live, concurrency ${figures.workers.concurrency}`, 'workers')}
${row('ρ utilization', percent(figures.utilization), 'utilization')}
${row('drain', drain(figures), 'drain')}
</dl>
<p class="meta">Rates, latencies and failures over the last minute.</p>`;
}

function renderStates(options: QueueDetailPageOptions): SafeHtml {
  const { detail, boardPath } = options;
  const items = BOARD_STATES.map((state) => {
    const count = state === 'latest' ? '' : html` <strong class="num">${detail.counts[state]}</strong>`;
    const label = state === 'latest' ? 'all jobs' : state;
    return html`<li data-state="${state}"><a href="${boardUrl(boardPath, detail.name, state)}">${label}</a>${count}</li>`;
  });
  return html`<ul class="qd-states">${items}<li data-state="dead-lettered"><a href="/dead-letters?queue=${detail.name}">dead letters</a> <strong class="num">${detail.deadLettered}</strong></li></ul>`;
}

function renderControl(detail: QueueDetailPageOptions['detail'], range: string): HtmlValue {
  if (currentPageContext()?.user?.role !== 'operator') return '';
  const action = detail.paused ? 'resume' : 'pause';
  const explain = detail.paused ? 'Workers take its jobs again.' : 'Every worker stops taking its jobs; running jobs finish.';
  return html`<form class="qd-control" method="post" action="/queue/${encodeURIComponent(detail.name)}/${action}">${csrfField()}<input type="hidden" name="range" value="${range}"><button type="submit"${action === 'pause' ? html` class="danger"` : ''}>${action === 'pause' ? 'Pause queue' : 'Resume queue'}</button> <span class="meta">${explain}</span></form>`;
}

function renderRangeSwitch(name: string, current: string): SafeHtml {
  const links = HISTORY_RANGE_NAMES.map((range) =>
    range === current
      ? html`<a href="/queue/${encodeURIComponent(name)}?range=${range}" aria-current="page">${range}</a>`
      : html`<a href="/queue/${encodeURIComponent(name)}?range=${range}">${range}</a>`,
  );
  return html`<nav class="qd-range" aria-label="history range">${links}</nav>`;
}

/** `12:34` for the 1-hour and 24-hour ranges, `Mon 31 12:00` for 7 days; UTC. */
function pointTime(point: HistoryPoint, range: string): string {
  const iso = new Date(point.fromMs).toISOString();
  return range === '7d' ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16);
}

function renderHistoryTable(history: QueueHistory): SafeHtml {
  const rows = [...history.points].reverse().map(
    (p) => html`<tr${p.partial ? html` data-partial` : ''}><td><time datetime="${new Date(p.fromMs).toISOString()}">${pointTime(p, history.range)}</time>${p.partial ? html` <span class="muted">so far</span>` : ''}</td>
<td class="num">${rate(p.arrivalRate)}</td><td class="num">${rate(p.completionRate)}</td>
<td class="num">${percentiles(p.wait)}</td><td class="num">${percentiles(p.service)}</td>
<td class="num">${percent(p.failureRate)}</td><td class="num">${p.inQueue ?? dash}</td></tr>`,
  );
  return html`<details class="qd-history">
<summary>The same figures as a table (${history.points.length} points of ${history.stepSec / 60} min, newest first, UTC)</summary>
<div class="table-wrap"><table class="queues qd-table">
<thead><tr><th>from</th><th class="num">λ</th><th class="num">θ</th><th class="num">W p50 / p95 / p99</th><th class="num">S p50 / p95 / p99</th><th class="num">failures</th><th class="num">in queue</th></tr></thead>
<tbody>${rows}</tbody>
</table></div>
</details>`;
}

const NOTICES: Record<QueueNotice, string> = {
  paused: 'Queue paused: workers take no new jobs from it until it is resumed.',
  resumed: 'Queue resumed: workers take its jobs again.',
};

export function renderQueueDetailPage(options: QueueDetailPageOptions): string {
  const { detail, history } = options;
  const historyUrl = `/api/queues/${encodeURIComponent(detail.name)}/history?range=${history.range}`;
  const badge = detail.paused ? html` <span class="badge paused">paused</span>` : '';
  const notice = options.notice ? html`<p class="qd-notice" role="status">${NOTICES[options.notice]}</p>` : '';
  const charts = QUEUE_CHARTS.map(
    ([key, caption]) => html`<figure class="qd-chart"><figcaption>${caption}</figcaption><div class="qd-plot" data-chart="${key}"><p class="meta">Charts need JavaScript; the table below has the same figures.</p></div></figure>`,
  );
  return renderPage({
    title: `${detail.name} · Conveyor`,
    head: html`<link rel="stylesheet" href="/assets/vendor/uplot.css">
<script src="/assets/vendor/uplot.js" defer></script>
<script src="/assets/queue-detail.js" defer></script>`,
    bodyData: { queue: detail.name, range: history.range, 'history-url': historyUrl, 'refresh-ms': options.refreshMs },
    body: html`<p><a href="/">← all queues</a></p>
${notice}
<h1 class="qd-title">${detail.name}${badge}</h1>
<p class="description">${detail.description}</p>
${renderControl(detail, history.range)}
<section class="qd-now"><h2>Now</h2>${renderFigures(detail.figures)}</section>
<section><h2>Jobs by state</h2>${renderStates(options)}</section>
<section class="qd-charts-section">
<div class="qd-heading"><h2>History</h2>${renderRangeSwitch(detail.name, history.range)}</div>
<div class="qd-charts" id="qd-charts">${charts}</div>
<p class="meta" id="qd-status">Points of ${history.stepSec / 60} min, the last one so far; gaps are minutes nobody measured. Also as JSON: <a href="${historyUrl}">${historyUrl}</a>.</p>
${renderHistoryTable(history)}
</section>`,
  }).value;
}
