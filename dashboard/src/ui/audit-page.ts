/** The audit log page: the newest entries first, one row each. */
import type { AuditEntry } from '../access/audit-log.ts';
import { html } from './html.ts';
import { renderPage } from './layout.ts';

export function renderAuditPage(entries: readonly AuditEntry[]): string {
  const rows = entries.map(
    (entry) => html`<tr data-action="${entry.action}">
  <td><time datetime="${entry.at}">${entry.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time></td>
  <td>${entry.user} <span class="muted">(${entry.via})</span></td>
  <td><code>${entry.action}</code>${entry.dryRun ? html` <span class="badge dry-run">dry run</span>` : ''}</td>
  <td>${entry.queue ?? ''}</td>
  <td class="audit-jobs">${entry.jobs ?? ''}</td>
  <td class="num">${entry.count ?? ''}</td>
  <td>${entry.detail ?? ''}</td>
  <td>${entry.method ?? ''} ${entry.path ?? ''}</td>
  <td class="${(entry.status ?? 200) >= 400 ? 'failed' : ''}">${entry.status ?? ''}</td>
  <td>${entry.ip ?? ''}</td>
</tr>`,
  );
  const table =
    entries.length === 0
      ? html`<p class="meta">No entries yet.</p>`
      : html`<div class="table-wrap"><table class="audit"><thead><tr><th>when (UTC)</th><th>who</th><th>action</th><th>queue</th><th>jobs</th><th class="num">count</th><th>outcome</th><th>request</th><th>status</th><th>from</th></tr></thead><tbody>${rows}</tbody></table></div>`;
  return renderPage({
    title: 'Audit log — Conveyor',
    body: html`<h1>Audit log</h1>
<p class="meta">Sign-ins, sign-outs and every state-changing request, newest first (${entries.length} shown). Also as JSON: <a href="/api/audit">/api/audit</a>.</p>
${table}`,
  }).value;
}
