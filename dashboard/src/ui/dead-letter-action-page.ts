/**
 * The pages of a dead-letter action posted from a form: the confirmation (the dry run's count,
 * and a button that sends it back as `confirm`) and the result (the final counts).
 */
import type { RedriveResult } from '@conveyor/shared';
import { html, type HtmlValue } from './html.ts';
import { renderPage } from './layout.ts';
import { csrfField, filterInputs, recordUrl } from './dead-letters-page.ts';

export interface ActionEcho {
  action: 'redrive' | 'purge';
  scope: 'selected' | 'filter';
  sel: readonly string[];
  fields: Readonly<Record<string, string | undefined>>;
}

function describe(echo: ActionEcho): HtmlValue {
  if (echo.scope === 'selected') return html`${echo.sel.length} selected record(s)`;
  const parts = Object.entries(echo.fields).flatMap(([key, value]) => (value ? [`${key} = ${value}`] : []));
  return parts.length === 0 ? 'every dead-letter record of every queue' : html`every record where ${parts.join(', ')}`;
}

function hiddenSelection(echo: ActionEcho): HtmlValue {
  return html`<input type="hidden" name="scope" value="${echo.scope}">${echo.sel.map((sel) => html`<input type="hidden" name="sel" value="${sel}">`)}${filterInputs(echo.fields)}`;
}

export function renderActionConfirm(echo: ActionEcho, preview: { count: number; ids: readonly { queue: string; id: string }[]; note?: string }): string {
  const verb = echo.action === 'redrive' ? 'Redrive' : 'Purge';
  const list = preview.ids.map((entry) => html`<li><a href="${recordUrl(entry.queue, entry.id)}">${entry.queue} / ${entry.id}</a></li>`);
  const button =
    preview.count === 0
      ? html`<p class="meta">Nothing to ${echo.action}.</p>`
      : html`<form method="post" action="/dead-letters/${echo.action}">${csrfField()}${hiddenSelection(echo)}<input type="hidden" name="step" value="run"><input type="hidden" name="confirm" value="${preview.count}"><button type="submit"${echo.action === 'purge' ? html` class="danger"` : ''}>${verb} ${preview.count} record(s)</button></form>`;
  return renderPage({
    title: `${verb}: confirm — Conveyor`,
    body: html`<h1>${verb} dead letters?</h1>
<p>Dry run for ${describe(echo)}: <strong class="dl-count" data-count="${preview.count}">${preview.count}</strong> record(s) would be ${echo.action === 'redrive' ? 'redriven' : 'deleted for good'}.</p>
${preview.note ? html`<p class="meta">${preview.note}</p>` : ''}
${button}
<p><a href="/dead-letters">Cancel</a></p>
${list.length > 0 ? html`<details><summary>the records</summary><ul>${list}</ul></details>` : ''}`,
  }).value;
}

export function renderRedriveResult(result: RedriveResult): string {
  const skipped = result.skipped.map((s) => html`<li>${s.queue} / ${s.id}: ${s.reason}</li>`);
  const errors = result.errors.map((e) => html`<li>${e.queue} / ${e.id}: ${e.message}</li>`);
  return renderPage({
    title: 'Redrive done — Conveyor',
    body: html`<h1>Redrive done</h1>
<p class="dl-result">Redriven: <strong>${result.redriven}</strong> of ${result.matched} matched; skipped ${result.skipped.length}; failed ${result.errors.length}.</p>
${skipped.length > 0 ? html`<h2>Skipped</h2><ul>${skipped}</ul>` : ''}
${errors.length > 0 ? html`<h2>Failed</h2><ul>${errors}</ul>` : ''}
<p><a href="/dead-letters">Back to the dead letters</a></p>`,
  }).value;
}

export function renderPurgeResult(result: { matched: number; purged: number }): string {
  return renderPage({
    title: 'Purge done — Conveyor',
    body: html`<h1>Purge done</h1>
<p class="dl-result">Purged: <strong>${result.purged}</strong> of ${result.matched} matched.</p>
<p><a href="/dead-letters">Back to the dead letters</a></p>`,
  }).value;
}
