/**
 * The page of a background redrive (dead-letter-task.ts): a <progress> bar and the counts. While
 * the task runs, /assets/dead-letter-task.js polls its JSON and updates them in place, then
 * reloads the page once it ends; without scripts, a <noscript> meta refresh reloads it.
 */
import { REDRIVE_RERUN_NOTE, STALE_MS, taskApiUrl, taskPageUrl, type RedriveTask, type TaskSelection } from '../dead-letter-task.ts';
import { html, type HtmlValue } from './html.ts';
import { renderPage } from './layout.ts';
import { recordUrl } from './dead-letters-page.ts';

/** How often the page's script asks for the task's counts, in ms. */
const POLL_MS = 500;
/** The no-script fallback's reload interval, in s. */
const NOSCRIPT_REFRESH_SEC = 2;

function describeSelection(selection: TaskSelection): string {
  if (selection.scope === 'ids') return `${selection.count} selected record(s) of ${selection.queues.join(', ')}`;
  const parts = Object.entries(selection.filter).map(([key, value]) => `${key} = ${value}`);
  return parts.length === 0 ? 'every dead-letter record of every queue' : `every record where ${parts.join(', ')}`;
}

const headings: Record<RedriveTask['state'], string> = {
  running: 'Redrive running',
  done: 'Redrive done',
  failed: 'Redrive failed',
  interrupted: 'Redrive interrupted',
};

function stateNote(task: RedriveTask): HtmlValue {
  switch (task.state) {
    case 'running':
      return html`<p class="meta">Updated as it runs; this page can be closed and opened again from any dashboard.</p>`;
    case 'done':
      return '';
    case 'failed':
      return html`<p class="dl-task-failure" role="alert">It stopped: ${task.failure ?? 'unknown error'}.</p>`;
    case 'interrupted':
      return html`<div class="dl-task-failure" role="alert">
<p>The dashboard process running it stopped (no heartbeat for more than ${STALE_MS / 1_000} s, last at <time datetime="${task.heartbeatAt}">${task.heartbeatAt}</time>); the counts are those it last wrote, and nothing will finish it.</p>
<p>${REDRIVE_RERUN_NOTE}</p>
<p><a href="/dead-letters">Back to the dead letters</a> to start it again (dry run first).</p>
</div>`;
  }
}

export function renderRedriveTask(task: RedriveTask): string {
  const running = task.state === 'running';
  const skipped = task.skippedRecords.map((s) => html`<li><a href="${recordUrl(s.queue, s.id)}">${s.queue} / ${s.id}</a>: ${s.reason}</li>`);
  const failed = task.failedRecords.map((e) => html`<li>${e.queue} / ${e.id}: ${e.message}</li>`);
  const more = (shown: number, of: number) => (of > shown ? html` <span class="meta">(the first ${shown} of ${of})</span>` : '');
  const head = running
    ? html`<script src="/assets/dead-letter-task.js" defer></script><noscript><meta http-equiv="refresh" content="${NOSCRIPT_REFRESH_SEC}"></noscript>`
    : '';
  return renderPage({
    title: `${headings[task.state]} — Conveyor`,
    head,
    bodyData: running ? { 'task-url': taskApiUrl(task.id), 'poll-ms': POLL_MS } : {},
    body: html`<h1 id="dl-task-heading">${headings[task.state]}</h1>
<section class="dl-task" data-task="${task.id}" data-state="${task.state}">
<p>Redrive of ${describeSelection(task.selection)}, started by <strong>${task.startedBy}</strong> at <time datetime="${task.startedAt}">${task.startedAt}</time>${task.finishedAt ? html`, ended at <time datetime="${task.finishedAt}">${task.finishedAt}</time>` : ''}.</p>
<p><progress id="dl-task-progress" max="${Math.max(task.total, 1)}" value="${task.done}">${task.done} of ${task.total}</progress>
<span class="dl-task-figure"><span data-field="done">${task.done}</span> of <span data-field="total">${task.total}</span> records</span></p>
<dl class="dl-facts dl-task-counts">
  <dt>state</dt><dd data-field="state">${task.state}</dd>
  <dt>redriven</dt><dd data-field="redriven">${task.redriven}</dd>
  <dt>skipped</dt><dd data-field="skipped">${task.skipped}</dd>
  <dt>failed</dt><dd data-field="errors">${task.errors}</dd>
</dl>
${stateNote(task)}
${skipped.length > 0 ? html`<h2>Skipped${more(skipped.length, task.skipped)}</h2><ul>${skipped}</ul>` : ''}
${failed.length > 0 ? html`<h2>Failed${more(failed.length, task.errors)}</h2><ul>${failed}</ul>` : ''}
</section>
<p class="meta">Also as JSON: <a href="${taskApiUrl(task.id)}">${taskApiUrl(task.id)}</a>. <a href="/dead-letters">Back to the dead letters</a></p>`,
  }).value;
}

/** The answer to a form that would start a second redrive of records a running task is redriving. */
export function renderRedriveRunning(message: string, taskId: string | undefined): string {
  return renderPage({
    title: 'Redrive already running — Conveyor',
    body: html`<h1>Redrive already running</h1>
<p>${message}.</p>
${taskId ? html`<p><a href="${taskPageUrl(taskId)}">Watch the running redrive</a></p>` : ''}
<p><a href="/dead-letters">Back to the dead letters</a></p>`,
  }).value;
}
