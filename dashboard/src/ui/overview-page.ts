/**
 * The overview: one row per catalog queue with its counts by state, a link into bull-board and
 * a "paused" badge. When Redis is unreachable the same table renders without figures under a
 * banner that says so. `/assets/overview.js` re-fetches the page every `refreshMs`; without
 * JavaScript a <noscript> meta refresh does the same.
 */
import { deadLetterQueueName } from '@conveyor/shared';
import type { AlertStatus } from '../alerts/alert-evaluator.ts';
import { renderFiringAlertsBanner } from './alerts-page.ts';
import type { QueueCounts, QueueSummary } from '../queue-overview.ts';
import { html, type SafeHtml } from './html.ts';
import { renderPage } from './layout.ts';

/** The columns of the table, in order: count field and heading. */
export const overviewColumns = [
  ['waiting', 'waiting'],
  ['prioritized', 'prioritized'],
  ['delayed', 'delayed'],
  ['active', 'active'],
  ['completed', 'completed'],
  ['failed', 'failed'],
  ['paused', 'paused'],
  ['deadLettered', 'dead letters'],
] as const satisfies readonly (readonly [keyof QueueCounts, string])[];

export interface OverviewRow {
  name: string;
  description: string;
  /** Unknown (undefined) while Redis is unreachable. */
  paused?: boolean;
  counts?: QueueCounts;
}

export interface OverviewPageOptions {
  rows: readonly OverviewRow[];
  /** When set, the "Redis unreachable" banner with this reason. */
  redisError?: string;
  generatedAt: Date;
  /** How often the page refreshes itself, in ms. */
  refreshMs: number;
  /** Where bull-board is mounted. Default `/queues`. */
  boardPath?: string;
  /** The alert states; the firing ones are listed in a banner at the top. Default none. */
  alerts?: readonly AlertStatus[];
}

export function rowsFromSummaries(summaries: readonly QueueSummary[]): OverviewRow[] {
  return summaries.map(({ name, description, paused, counts }) => ({ name, description, paused, counts }));
}

export function renderOverviewPage(options: OverviewPageOptions): string {
  const boardPath = options.boardPath ?? '/queues';
  const refreshSec = Math.max(1, Math.round(options.refreshMs / 1000));
  const banner = options.redisError
    ? html`<div class="banner" role="alert"><strong>Redis unreachable.</strong> Queue figures are unavailable until it answers again; this page retries every ${refreshSec} s. <span class="reason">(${options.redisError})</span></div>`
    : '';
  return renderPage({
    title: 'Conveyor · queues',
    head: html`<script src="/assets/overview.js" defer></script>
<noscript><meta http-equiv="refresh" content="${refreshSec}"></noscript>`,
    bodyData: { 'refresh-ms': options.refreshMs },
    body: html`${banner}${renderFiringAlertsBanner(options.alerts)}
<h1>Queues</h1>
<table class="queues">
<thead><tr><th scope="col">queue</th>${overviewColumns.map(([, heading]) => html`<th scope="col" class="num">${heading}</th>`)}</tr></thead>
<tbody>
${options.rows.map((row) => renderRow(row, boardPath))}
</tbody>
</table>
<p class="meta">Updated <time datetime="${options.generatedAt.toISOString()}">${options.generatedAt.toISOString()}</time> · refreshes every ${refreshSec} s</p>`,
  }).value;
}

function renderRow(row: OverviewRow, boardPath: string): SafeHtml {
  const link = `${boardPath}/queue/${encodeURIComponent(row.name)}`;
  const badge = row.paused ? html` <span class="badge paused">paused</span>` : '';
  const deadLetterLink = `${boardPath}/queue/${encodeURIComponent(deadLetterQueueName(row.name))}`;
  const cells = overviewColumns.map(([field]) => {
    const value = row.counts?.[field];
    if (value === undefined) return html`<td class="num unknown" data-state="${field}">–</td>`;
    const shown = field === 'deadLettered' ? html`<a href="${deadLetterLink}">${value}</a>` : html`${value}`;
    return html`<td class="num${value > 0 ? ` has-${field}` : ''}" data-state="${field}">${shown}</td>`;
  });
  return html`<tr data-queue="${row.name}">
<th scope="row"><a href="${link}">${row.name}</a>${badge}<div class="description">${row.description}</div></th>
${cells}
</tr>
`;
}
