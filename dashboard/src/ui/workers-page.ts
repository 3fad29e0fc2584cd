/**
 * The /workers page: one row per live worker process (host, pid, its queues with their
 * concurrency and jobs in hand, uptime, last heartbeat's age). Processes that stopped
 * heartbeating drop off within the live window (@conveyor/shared queue-model/workers.ts).
 */
import { WORKER_LIVE_MS, type WorkerProcess } from '@conveyor/shared';
import { html } from './html.ts';
import { renderPage } from './layout.ts';

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`: a duration in ms at a glance. */
export function formatDurationMs(ms: number): string {
  const sec = Math.floor(ms / 1_000);
  if (sec < 60) return `${sec} s`;
  const min = Math.floor(sec / 60);
  if (min < 60) return `${min} min`;
  const hours = Math.floor(min / 60);
  if (hours < 24) return `${hours} h ${min % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export interface WorkersPageOptions {
  workers: readonly WorkerProcess[];
  generatedAtMs: number;
}

export function renderWorkersPage(options: WorkersPageOptions): string {
  const { workers } = options;
  const rows = workers.map(
    (w) => html`<tr data-worker="${w.id}">
  <td>${w.host}</td><td class="num">${w.pid}</td>
  <td><ul class="worker-queues">${w.queues.map((q) => html`<li><code>${q.queue}</code> ${q.active ?? '–'}/${q.concurrency}</li>`)}</ul></td>
  <td class="num">${w.concurrency}</td><td class="num">${w.active ?? html`<span class="unknown">–</span>`}</td>
  <td class="num" title="started ${iso(w.startedAtMs)}">${formatDurationMs(w.uptimeMs)}</td>
  <td class="num"><time datetime="${iso(w.beatAtMs)}">${formatDurationMs(w.beatAgeMs)} ago</time></td>
</tr>`,
  );
  const body =
    workers.length === 0
      ? html`<p class="meta">No live worker processes: none has heartbeated in the last ${WORKER_LIVE_MS / 1_000} s.</p>`
      : html`<div class="table-wrap"><table class="workers"><thead><tr><th>host</th><th class="num">pid</th><th>queues (in hand/concurrency)</th><th class="num">concurrency</th><th class="num">jobs in hand</th><th class="num">uptime</th><th class="num">last heartbeat</th></tr></thead><tbody>${rows}</tbody></table></div>`;
  return renderPage({
    title: 'Workers — Conveyor',
    body: html`<h1>Workers</h1>
<p class="meta">${workers.length} live process${workers.length === 1 ? '' : 'es'} at <time datetime="${iso(options.generatedAtMs)}">${iso(options.generatedAtMs)}</time>; heartbeats every 10 s. Also as JSON: <a href="/api/workers">/api/workers</a>.</p>
${body}`,
  }).value;
}
