/**
 * The dead-letter pages: the list (filters, counts, a page of records with checkboxes) and one
 * record (masked payload, options, every attempt, redrive history). Operators also get the
 * action forms; they post to /dead-letters/{redrive,purge} with the page's CSRF token.
 */
import type { DeadLetterEntry } from '@conveyor/shared';
import { failureClasses, queueNames } from '@conveyor/shared';
import { maskDeadLetterRecord } from '../masking-adapter.ts';
import { html, type HtmlValue, type SafeHtml } from './html.ts';
import { renderPage } from './layout.ts';
import { currentPageContext } from './page-context.ts';

/** The filter as the list shows it: query parameters, all optional. */
export type FilterValues = Readonly<Partial<Record<'queue' | 'kind' | 'reason' | 'text' | 'from' | 'to', string | undefined>>>;

export function recordUrl(queue: string, id: string): string {
  return `/dead-letters/${encodeURIComponent(queue)}/${encodeURIComponent(id)}`;
}

function isOperator(): boolean {
  return currentPageContext()?.user?.role === 'operator';
}

export function csrfField(): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${currentPageContext()?.csrfToken ?? ''}">`;
}

/** Hidden inputs carrying the filter, for forms that act on "all matching". */
export function filterInputs(filter: Readonly<Record<string, string | undefined>>): SafeHtml[] {
  return Object.entries(filter).flatMap(([name, value]) => (value ? [html`<input type="hidden" name="${name}" value="${value}">`] : []));
}

function options(values: readonly string[], selected: string | undefined, blank: string): SafeHtml {
  return html`<option value="">${blank}</option>${values.map((value) => html`<option value="${value}"${value === selected ? html` selected` : ''}>${value}</option>`)}`;
}

/** A datetime-local input's value (no zone; the page labels them UTC). */
function localTime(iso: string | undefined): string {
  return iso?.replace(/(:\d\d)?(\.\d+)?Z$/, '$1') ?? '';
}

function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function renderDeadLetterList(input: {
  filter: FilterValues;
  records: readonly DeadLetterEntry[];
  nextCursor?: string | undefined;
  limit: number;
  /** Records held per queue (all of them, not only those matching). */
  counts: Readonly<Record<string, number>>;
}): string {
  const { filter, records } = input;
  const operator = isOperator();
  const rows = records.map(
    (record) => html`<tr>
  ${operator ? html`<td><input type="checkbox" form="dl-selected" name="sel" value="${record.sourceQueue}/${record.id}" aria-label="select ${record.id}"></td>` : ''}
  <td><a href="${recordUrl(record.sourceQueue, record.id)}">${record.id}</a></td>
  <td>${record.sourceQueue}</td>
  <td>${record.name}</td>
  <td><span class="dl-reason dl-reason-${record.reason}">${record.reason}</span></td>
  <td class="dl-message">${record.failedReason}</td>
  <td>${record.attemptsMade}</td>
  <td><time datetime="${record.deadLetteredAt}">${shortTime(record.deadLetteredAt)}</time></td>
  <td>${record.redriveCount}</td>
</tr>`,
  );
  const counts = queueNames.map((queue) => html`<li><a href="/dead-letters?queue=${queue}">${queue}</a>: <strong>${input.counts[queue] ?? 0}</strong></li>`);
  const next = input.nextCursor
    ? html`<a class="dl-next" href="/dead-letters?${new URLSearchParams({ ...definedOf(filter), limit: String(input.limit), cursor: input.nextCursor }).toString()}">Next page →</a>`
    : '';
  const table =
    records.length === 0
      ? html`<p class="meta">No dead-letter record matches.</p>`
      : html`<div class="table-wrap"><table class="dead-letters"><thead><tr>${operator ? html`<th></th>` : ''}<th>record</th><th>queue</th><th>kind</th><th>reason</th><th>error</th><th>attempts</th><th>dead-lettered (UTC)</th><th>redrives</th></tr></thead><tbody>${rows}</tbody></table></div>`;
  const actions: HtmlValue = operator
    ? html`<div class="dl-actions">
<form id="dl-selected" method="post" action="/dead-letters/redrive">${csrfField()}<input type="hidden" name="scope" value="selected"><button type="submit" name="step" value="run">Redrive selected</button><button type="submit" formaction="/dead-letters/purge" name="step" value="preview">Purge selected…</button></form>
<form method="post" action="/dead-letters/redrive">${csrfField()}<input type="hidden" name="scope" value="filter">${filterInputs(filter)}<button type="submit">Redrive all matching…</button></form>
<form method="post" action="/dead-letters/purge">${csrfField()}<input type="hidden" name="scope" value="filter">${filterInputs(filter)}<button type="submit" class="danger">Purge all matching…</button></form>
</div>`
    : '';
  return renderPage({
    title: 'Dead letters — Conveyor',
    body: html`<h1>Dead letters</h1>
<ul class="dl-counts">${counts}</ul>
<form class="dl-filter" method="get" action="/dead-letters">
  <label>queue <select name="queue">${options(queueNames, filter.queue, 'any')}</select></label>
  <label>kind <input name="kind" value="${filter.kind ?? ''}" placeholder="email.send"></label>
  <label>reason <select name="reason">${options(failureClasses, filter.reason, 'any')}</select></label>
  <label>error text <input name="text" value="${filter.text ?? ''}"></label>
  <label>from (UTC) <input type="datetime-local" name="from" value="${localTime(filter.from)}"></label>
  <label>to (UTC) <input type="datetime-local" name="to" value="${localTime(filter.to)}"></label>
  <button type="submit">Filter</button> <a href="/dead-letters">clear</a>
</form>
<p class="meta">${records.length} shown, newest first per queue${input.nextCursor ? ', more on the next page' : ''}. Also as JSON: <a href="/api/dead-letters">/api/dead-letters</a>.</p>
${actions}
${table}
${next}`,
  }).value;
}

function definedOf(filter: FilterValues): Record<string, string> {
  return Object.fromEntries(Object.entries(filter).filter((entry): entry is [string, string] => Boolean(entry[1])));
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** The record as people may see it: sensitive fields (sealed or plain) masked. */
export function maskedRecord(record: DeadLetterEntry): DeadLetterEntry {
  return maskDeadLetterRecord(record) as DeadLetterEntry;
}

export function renderDeadLetterRecord(entry: DeadLetterEntry): string {
  const record = maskedRecord(entry);
  const attempts = record.attempts.map(
    (attempt) => html`<li class="dl-attempt">
  <p><strong>#${attempt.attempt}</strong> <span class="dl-reason dl-reason-${attempt.class}">${attempt.class}</span> <time datetime="${attempt.at}">${shortTime(attempt.at)}</time> <span class="muted">${attempt.worker ?? 'host unknown'}</span></p>
  <p class="dl-message">${attempt.message}</p>
  ${attempt.stack ? html`<details><summary>stack</summary><pre class="dl-stack">${attempt.stack}</pre></details>` : ''}
</li>`,
  );
  const redrives =
    record.redrives.length === 0
      ? html`<p class="meta">Never redriven.</p>`
      : html`<div class="table-wrap"><table class="dead-letters"><thead><tr><th>when (UTC)</th><th>by</th><th>job id</th><th>edited</th></tr></thead><tbody>${record.redrives.map(
          (r) => html`<tr><td>${shortTime(r.at)}</td><td>${r.by}</td><td>${r.newJobId}</td><td>${r.edited ? 'yes' : 'no'}</td></tr>`,
        )}</tbody></table></div>`;
  const sel = `${record.sourceQueue}/${record.id}`;
  const actions = isOperator()
    ? html`<section class="dl-actions">
<h2>Act on it</h2>
<form method="post" action="/dead-letters/redrive">${csrfField()}<input type="hidden" name="sel" value="${sel}"><input type="hidden" name="step" value="run">
  <label>Payload edit (optional, JSON; leave a mask <code>•••••</code> in place to keep that value; a sensitive value cannot be typed in here: the dashboard holds no payload keys)
  <textarea name="edit" rows="8" spellcheck="false" placeholder="${json(record.data)}"></textarea></label>
  <button type="submit">Redrive</button>
</form>
<form method="post" action="/dead-letters/purge">${csrfField()}<input type="hidden" name="sel" value="${sel}"><button type="submit" class="danger">Purge…</button></form>
</section>`
    : '';
  return renderPage({
    title: `Dead letter ${record.id} — Conveyor`,
    body: html`<p><a href="/dead-letters?queue=${record.sourceQueue}">← ${record.sourceQueue} dead letters</a></p>
<h1>Dead letter <code>${record.id}</code></h1>
<dl class="dl-facts">
  <dt>queue</dt><dd>${record.sourceQueue}</dd>
  <dt>kind</dt><dd>${record.name}</dd>
  <dt>source job id</dt><dd>${record.sourceJobId}</dd>
  <dt>reason</dt><dd><span class="dl-reason dl-reason-${record.reason}">${record.reason}</span> ${record.failedReason}</dd>
  <dt>attempts made</dt><dd>${record.attemptsMade}</dd>
  <dt>enqueued</dt><dd>${shortTime(record.enqueuedAt)}</dd>
  <dt>dead-lettered</dt><dd>${shortTime(record.deadLetteredAt)}</dd>
  <dt>last worker</dt><dd>${record.worker ?? 'unknown'}</dd>
</dl>
<h2>Payload</h2>
<pre class="dl-json dl-payload">${json(record.data)}</pre>
<h2>Options</h2>
<pre class="dl-json">${json(record.opts)}</pre>
<h2>Attempts</h2>
<ol class="dl-attempts">${attempts}</ol>
<h2>Redrive history</h2>
${redrives}
${actions}
<p class="meta">Also as JSON: <a href="/api${recordUrl(record.sourceQueue, record.id)}">/api${recordUrl(record.sourceQueue, record.id)}</a>.</p>`,
  }).value;
}
