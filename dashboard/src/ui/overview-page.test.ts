import { describe, expect, it } from 'vitest';
import { escapeHtml, html } from './html.ts';
import { renderOverviewPage } from './overview-page.ts';

const counts = { waiting: 1, prioritized: 0, delayed: 0, active: 0, completed: 0, failed: 0, paused: 0, waitingChildren: 0, deadLettered: 0 };

describe('overview page rendering', () => {
  it('escapes every interpolated string', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&\``)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;');
    expect(html`<p>${'<b>'}</p>${html`<i>${'&'}</i>`}`.value).toBe('<p>&lt;b&gt;</p><i>&amp;</i>');
  });

  it('cannot be made to emit markup by a queue name, description or error', () => {
    const page = renderOverviewPage({
      rows: [{ name: '<script>alert(1)</script>', description: '"><img src=x onerror=alert(2)>', paused: true, counts }],
      redisError: '<svg onload=alert(3)>',
      generatedAt: new Date(0),
      refreshMs: 5_000,
    });
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<img');
    expect(page).not.toContain('<svg');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('href="/queues/queue/%3Cscript%3Ealert(1)%3C%2Fscript%3E"');
  });

  it('says how often it refreshes, rounded to whole seconds', () => {
    const page = renderOverviewPage({ rows: [], generatedAt: new Date(0), refreshMs: 2_500 });
    expect(page).toContain('data-refresh-ms="2500"');
    expect(page).toContain('<meta http-equiv="refresh" content="3">');
  });
});
