/** The small HTML page browsers get for an error (a 404, say) instead of the JSON envelope. */
import { html } from './html.ts';
import { renderPage } from './layout.ts';

export function renderErrorPage(error: { status: number; code: string; message: string }): string {
  return renderPage({
    title: `${error.status} · Conveyor`,
    body: html`<section class="error">
  <h1>${error.status} <code>${error.code}</code></h1>
  <p>${error.message}</p>
  <p><a href="/">Back to the overview</a></p>
</section>`,
  }).value;
}
