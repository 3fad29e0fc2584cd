/**
 * The shell every server-rendered page shares: no CDN, one stylesheet, scripts only from
 * /assets. It shows who is signed in (with a sign-out form), the CSRF token as
 * `<meta name="csrf-token">` for scripts, and the no-users warning (ui/page-context.ts).
 */
import { html, type HtmlValue, type SafeHtml } from './html.ts';
import { currentPageContext } from './page-context.ts';

/** The warning every page carries while no users are configured. */
export const NO_USERS_WARNING = 'No users configured: anyone on this machine has operator access';

export interface PageOptions {
  title: string;
  body: HtmlValue;
  /** Extra elements for <head>, e.g. the refresh script. */
  head?: HtmlValue;
  /** data-* attributes on <body>, read by the page's script. */
  bodyData?: Readonly<Record<string, string | number>>;
}

function accountNav(): SafeHtml {
  const context = currentPageContext();
  const user = context?.user;
  if (!user) return html``;
  const audit = user.role === 'operator' ? html`<a href="/audit">Audit log</a>` : '';
  const signOut =
    user.via === 'session'
      ? html`<form class="logout" method="post" action="/logout"><input type="hidden" name="_csrf" value="${context.csrfToken ?? ''}"><button type="submit">Sign out</button></form>`
      : '';
  return html`${audit}<span class="who" data-role="${user.role}">${user.name} (${user.role})</span>${signOut}`;
}

export function renderPage(options: PageOptions): SafeHtml {
  const context = currentPageContext();
  const csrfMeta = context?.csrfToken ? html`<meta name="csrf-token" content="${context.csrfToken}">` : '';
  const warning = context?.localMode ? html`<p class="banner access-warning" role="alert">${NO_USERS_WARNING}</p>` : '';
  const data = Object.entries(options.bodyData ?? {}).map(
    ([key, value]) => html` data-${key}="${value}"`,
  );
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
${csrfMeta}
<title>${options.title}</title>
<link rel="stylesheet" href="/assets/overview.css">
${options.head}
</head>
<body${data}>
<header class="top">
  <a class="brand" href="/">Conveyor</a>
  <nav><a href="/">Overview</a><a href="/search">Search</a><a href="/alerts">Alerts</a><a href="/dead-letters">Dead letters</a><a href="/workers">Workers</a><a href="/queues">Queues (bull-board)</a><a href="/api/queues">JSON</a>${accountNav()}</nav>
</header>
${warning}
<main id="content">
${options.body}
</main>
</body>
</html>
`;
}
