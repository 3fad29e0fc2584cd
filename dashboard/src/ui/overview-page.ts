/**
 * The overview: one row per catalog queue with its health (colour and words), its live figures
 * (backlog, λ, θ, W p95, S p95, failure rate, oldest waiting, live workers, drain ETA), each over
 * a sparkline of the last hour, and its dead-letter count over a sparkline of the jobs
 * dead-lettered per minute. The queue's name links to its detail page, beside a link into
 * bull-board; the dead-letter count to the dead-letter page.
 *
 * Rendered on the server from the overview feed's snapshot, so the first paint has every
 * figure and the page works without JavaScript (a <noscript> meta refresh reloads it).
 * `/assets/overview.js` then follows `GET /api/overview/stream` and updates the cells in place.
 * While Redis is unreachable the same table renders without figures under a banner saying so.
 * At narrow widths (phones) each row becomes a card (overview.css).
 */
import type { OverviewQueue, OverviewSnapshot } from '../overview-snapshot.ts';
import { healthLabels } from '../queue-health.ts';
import { renderFiringAlertsBanner } from './alerts-page.ts';
import { html, type SafeHtml } from './html.ts';
import { renderPage } from './layout.ts';
import { overviewColumns, overviewFigureKeys } from './overview-columns.ts';
import { renderSparkline } from './sparkline.ts';

/**
 * What the overview may weigh with 50 queues, whatever their figures: the page's HTML (served as
 * is; behind a compressing proxy the gzip figure travels) and its stylesheet and script. The
 * worst case, every one of a row's ten sparklines jumping at every minute, is 205 KB of HTML.
 */
export const OVERVIEW_WEIGHT_BUDGET = { queues: 50, htmlBytes: 210_000, htmlGzipBytes: 40_000, cssBytes: 16_000, jsBytes: 10_000 } as const;

/** Which window the figures cover: the queue page's "Now" figures use the same one. */
export const FIGURE_WINDOW_NOTE = 'λ, θ, W p95, S p95 and failures over the last minute, like each queue’s page';

/** The dead-letter column's heading tooltip. */
const DEAD_LETTERS_TITLE = 'Records in the dead-letter queue; the line: jobs dead-lettered per minute, last 60 min';

export interface OverviewPageOptions {
  snapshot: OverviewSnapshot;
  /** Where bull-board is mounted. Default `/queues`. */
  boardPath?: string;
}

/** The banner of a snapshot whose figures are missing; the script writes the same. */
export function renderErrorBanner(snapshot: OverviewSnapshot): SafeHtml {
  const { error } = snapshot;
  if (!error) return html``;
  const refreshSec = Math.max(1, Math.round(snapshot.refreshMs / 1000));
  const heading = error.code === 'redis_unavailable' ? 'Redis unreachable.' : 'Queue figures unavailable.';
  return html`<div class="banner" role="alert"><strong>${heading}</strong> Queue figures are unavailable until it answers again; this page retries every ${refreshSec} s. <span class="reason">(${error.message})</span></div>`;
}

export function renderOverviewPage(options: OverviewPageOptions): string {
  const { snapshot } = options;
  const boardPath = options.boardPath ?? '/queues';
  const refreshSec = Math.max(1, Math.round(snapshot.refreshMs / 1000));
  const at = new Date(snapshot.atMs).toISOString();
  const headings = overviewFigureKeys.map((key) => {
    const column = overviewColumns[key];
    return html`<th scope="col" class="num" title="${column.meaning}; the line: ${column.series}, last 60 min">${column.heading}</th>`;
  });
  return renderPage({
    title: 'Conveyor · queues',
    head: html`<script src="/assets/overview.js" defer></script>
<noscript><meta http-equiv="refresh" content="${refreshSec}"></noscript>`,
    bodyData: { 'refresh-ms': snapshot.refreshMs, 'stream-url': '/api/overview/stream', 'board-path': boardPath },
    body: html`<div id="overview-error">${renderErrorBanner(snapshot)}</div><div id="overview-alerts">${renderFiringAlertsBanner(snapshot.alerts)}</div>
<h1>Queues</h1>
<p class="meta" id="overview-meta">Updated <time datetime="${at}">${at}</time> · <span class="live">live, every ${refreshSec} s</span> · <span class="window">${FIGURE_WINDOW_NOTE}</span></p>
<table class="queues overview">
<thead><tr><th scope="col">queue</th><th scope="col">health</th>${headings}<th scope="col" class="num" title="${DEAD_LETTERS_TITLE}">dead letters</th></tr></thead>
<tbody>
${snapshot.queues.map((queue) => renderRow(queue, boardPath))}
</tbody>
</table>`,
  }).value;
}

function renderRow(queue: OverviewQueue, boardPath: string): SafeHtml {
  const name = encodeURIComponent(queue.name);
  const badge = queue.paused ? html` <span class="badge paused">paused</span>` : '';
  const { level, reasons } = queue.health;
  const cells = overviewFigureKeys.map(
    (key) => html`<td class="num" data-figure="${key}"><span>${queue.text[key]}</span>${renderSparkline(queue.series?.[key])}</td>`,
  );
  const deadLetters = queue.deadLetters === null ? '–' : html`<a href="/dead-letters?queue=${name}">${queue.deadLetters}</a>`;
  return html`<tr data-queue="${queue.name}" data-health="${level}">
<th scope="row"><a href="/queue/${name}">${queue.name}</a>${badge} <a class="board" href="${boardPath}/queue/${name}">bull-board</a><div class="description">${queue.description}</div></th>
<td class="health"><span class="health ${level}">${healthLabels[level]}</span>${reasons.length > 0 ? html`<small>${reasons.join('; ')}</small>` : ''}</td>
${cells}<td class="num${queue.deadLetters ? ' has-failed' : ''}" data-figure="deadLetters">${deadLetters}${renderSparkline(queue.series?.deadLettered)}</td>
</tr>
`;
}
