/** The shell every server-rendered page shares: no CDN, one stylesheet, scripts only from /assets. */
import { html, type HtmlValue, type SafeHtml } from './html.ts';

export interface PageOptions {
  title: string;
  body: HtmlValue;
  /** Extra elements for <head>, e.g. the refresh script. */
  head?: HtmlValue;
  /** data-* attributes on <body>, read by the page's script. */
  bodyData?: Readonly<Record<string, string | number>>;
}

export function renderPage(options: PageOptions): SafeHtml {
  const data = Object.entries(options.bodyData ?? {}).map(
    ([key, value]) => html` data-${key}="${value}"`,
  );
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${options.title}</title>
<link rel="stylesheet" href="/assets/overview.css">
${options.head}
</head>
<body${data}>
<header class="top">
  <a class="brand" href="/">Conveyor</a>
  <nav><a href="/">Overview</a><a href="/queues">Queues (bull-board)</a><a href="/api/queues">JSON</a></nav>
</header>
<main id="content">
${options.body}
</main>
</body>
</html>
`;
}
