/**
 * Finding a job by id or business key (job-search.ts):
 *
 *   GET /search?q=…       the page: a search box and the jobs found, each linked to bull-board
 *   GET /api/search?q=…   the same as JSON: { "query", "jobs": [{ id, name, queue, state, matchedBy, enqueuedAt, url }] }
 */
import type { RequestHandler } from 'express';
import { HttpError } from '../http-error.ts';
import { MAX_QUERY_LENGTH, searchJobs, type JobSearchHit } from '../job-search.ts';
import { html } from '../ui/html.ts';
import { renderPage } from '../ui/layout.ts';
import type { RouteContext } from './route.ts';

function queryOf(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value !== 'string') throw new HttpError(400, 'bad_request', 'q must be given once, as text', { field: 'q' });
  if (value.length > MAX_QUERY_LENGTH) throw new HttpError(400, 'bad_request', `q must be at most ${MAX_QUERY_LENGTH} characters`, { field: 'q' });
  return value;
}

/** Where bull-board shows one job. */
function jobUrl(boardPath: string, hit: JobSearchHit): string {
  return `${boardPath}/queue/${encodeURIComponent(hit.queue)}/${encodeURIComponent(hit.id)}`;
}

export function searchApi(context: RouteContext): RequestHandler {
  return async (req, res) => {
    const query = queryOf(req.query.q);
    const jobs = await searchJobs(context, query);
    res.set('Cache-Control', 'no-store').json({ query, jobs: jobs.map((hit) => ({ ...hit, url: jobUrl(context.boardPath, hit) })) });
  };
}

export function searchPage(context: RouteContext): RequestHandler {
  return async (req, res) => {
    const query = queryOf(req.query.q);
    const jobs = query.trim() ? await searchJobs(context, query) : [];
    const rows = jobs.map(
      (hit) => html`<tr><td><a href="${jobUrl(context.boardPath, hit)}">${hit.id}</a></td><td>${hit.name}</td><td>${hit.queue}</td><td><span class="state state-${hit.state}">${hit.state}</span></td><td>${hit.matchedBy}</td><td>${hit.enqueuedAt ?? ''}</td></tr>`,
    );
    const results = !query.trim()
      ? html`<p class="muted">Search by job id, or by a business key: an e-mail's recipient, a report id, a webhook URL.</p>`
      : jobs.length === 0
        ? html`<p class="muted">No job found for “${query}”.</p>`
        : html`<div class="table-wrap"><table class="search-results"><thead><tr><th>job id</th><th>kind</th><th>queue</th><th>state</th><th>matched by</th><th>enqueued</th></tr></thead><tbody>${rows}</tbody></table></div>`;
    res
      .set('Cache-Control', 'no-store')
      .type('html')
      .send(
        renderPage({
          title: query ? `Search: ${query} — Conveyor` : 'Search — Conveyor',
          body: html`<h1>Find a job</h1>
<form class="search" method="get" action="/search" role="search">
  <input type="search" name="q" value="${query}" maxlength="${MAX_QUERY_LENGTH}" placeholder="job id, e-mail address, report id, webhook URL" autofocus>
  <button type="submit">Search</button>
</form>
${results}`,
        }).toString(),
      );
  };
}
