/**
 * Alerts in the UI: the banner of firing alerts at the top of the overview, and the /alerts
 * page listing every rule on every queue it watches with its state, value and threshold.
 */
import type { AlertStatus } from '../alerts/alert-evaluator.ts';
import { html, type SafeHtml } from './html.ts';
import { renderPage } from './layout.ts';

const iso = (ms: number | null): string => (ms === null ? '' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'));
const shown = (value: number | null): string => (value === null ? '–' : String(Math.round(value * 100) / 100));

/** The overview's banner: one line per firing alert; nothing when none fires. */
export function renderFiringAlertsBanner(statuses: readonly AlertStatus[] | undefined): SafeHtml {
  const firing = (statuses ?? []).filter((s) => s.state === 'firing');
  if (firing.length === 0) return html``;
  return html`<div class="banner alerts-firing" role="alert"><strong>${firing.length} alert${firing.length === 1 ? '' : 's'} firing</strong> · <a href="/alerts">all alerts</a>
<ul>${firing.map(
    (s) => html`<li data-rule="${s.rule}" data-queue="${s.queue}"><strong>${s.rule}</strong> on <code>${s.queue}</code>: ${s.condition} ${shown(s.value)} (threshold ${shown(s.threshold)}) since <time datetime="${iso(s.firingSinceMs)}">${iso(s.firingSinceMs)}</time></li>`,
  )}</ul></div>`;
}

export interface AlertsPageOptions {
  /** Undefined when no rules file is configured. */
  statuses?: readonly AlertStatus[];
  evaluatedAtMs: number | null;
}

export function renderAlertsPage(options: AlertsPageOptions): string {
  const { statuses } = options;
  const body =
    statuses === undefined
      ? html`<p class="meta">No alert rules configured (set <code>DASHBOARD_ALERT_RULES_FILE</code>).</p>`
      : html`<div class="table-wrap"><table class="alerts"><thead><tr><th>rule</th><th>queue</th><th>condition</th><th>for (s)</th><th>state</th><th class="num">value</th><th class="num">threshold</th><th>since (UTC)</th></tr></thead><tbody>${statuses.map(
          (s) => html`<tr data-rule="${s.rule}" data-queue="${s.queue}" data-state="${s.state}">
  <td>${s.rule}</td><td><code>${s.queue}</code></td><td><code>${s.condition}</code></td><td>${s.forSec}</td>
  <td><span class="alert-state ${s.state}">${s.state}</span>${s.state === 'firing' && !s.notified ? html` <span class="muted">(cooldown, not sent)</span>` : ''}</td>
  <td class="num">${shown(s.value)}</td><td class="num">${shown(s.threshold)}</td><td>${iso(s.sinceMs)}</td>
</tr>`,
        )}</tbody></table></div>`;
  return renderPage({
    title: 'Alerts — Conveyor',
    body: html`<h1>Alerts</h1>
<p class="meta">${options.evaluatedAtMs === null ? 'Not evaluated yet.' : html`Evaluated <time datetime="${iso(options.evaluatedAtMs)}">${iso(options.evaluatedAtMs)}</time>.`} Also as JSON: <a href="/api/alerts">/api/alerts</a>.</p>
${renderFiringAlertsBanner(statuses)}
${body}`,
  }).value;
}
