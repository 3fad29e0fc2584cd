import { testPrefix, waitFor } from '@conveyor/shared/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { auditKey, type AuditEntry } from './access/audit-log.ts';
import { sessionKey } from './access/session-store.ts';
import { basic, loginForm, pageCsrf, postLogin, signIn, signOut, testUsers } from './access-fixture.ts';
import { startDashboard, type DashboardFixture } from './dashboard-fixture.ts';

const redisUrl = inject('redisUrl');
const secret = 'test-session-secret-of-at-least-32-characters';

async function auditEntries(url: string, auth: string): Promise<AuditEntry[]> {
  const response = await fetch(`${url}/api/audit`, { headers: { authorization: auth } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { entries: AuditEntry[] }).entries;
}

describe('dashboard access with users configured', () => {
  const prefix = testPrefix('access');
  let dash: DashboardFixture;
  let second: DashboardFixture;
  const ops = basic('ada', 'ada-password');

  beforeAll(async () => {
    const users = await testUsers({ ada: { role: 'operator', password: 'ada-password' }, bob: { role: 'viewer', password: 'bob-password' } });
    const access = { users, sessionSecret: secret };
    [dash, second] = await Promise.all([startDashboard({ redisUrl, prefix, access }), startDashboard({ redisUrl, prefix, access })]);
  });

  afterAll(async () => {
    await dash?.close();
    await second?.close();
  });

  it('sends a browser to the sign-in page, and answers 401 with a Basic challenge to scripts', async () => {
    const page = await fetch(`${dash.url}/queues/queue/email?x=1`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe(`/login?next=${encodeURIComponent('/queues/queue/email?x=1')}`);

    const api = await fetch(`${dash.url}/api/queues`);
    expect(api.status).toBe(401);
    expect(api.headers.get('www-authenticate')).toBe('Basic realm="conveyor-dashboard", charset="UTF-8"');
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('unauthorized');

    // bull-board's own fetches come from a browser: no challenge, which would pop up a password dialog.
    const fromPage = await fetch(`${dash.url}/queues/api/queues`, { headers: { origin: dash.url } });
    expect(fromPage.status).toBe(401);
    expect(fromPage.headers.get('www-authenticate')).toBeNull();

    for (const open of ['/healthz', '/readyz', '/metrics', '/login', '/assets/overview.css']) {
      expect((await fetch(`${dash.url}${open}`)).status, open).toBe(200);
    }
  });

  it('signs in with the form: an HttpOnly, SameSite=Strict session cookie, Secure only over https, and a redirect to next', async () => {
    const response = await postLogin(dash.url, 'ada', 'ada-password', { next: '/queues' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/queues');
    const session = response.headers.getSetCookie().find((c) => c.startsWith('conveyor_session='))!;
    expect(session).toMatch(/; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(session).not.toMatch(/Secure/);

    const viaProxy = await loginForm(dash.url);
    const https = await fetch(`${dash.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: viaProxy.cookie, 'x-forwarded-proto': 'https' },
      body: new URLSearchParams({ user: 'ada', password: 'ada-password', csrf: viaProxy.csrf }),
    });
    expect(https.headers.getSetCookie().find((c) => c.startsWith('conveyor_session='))).toMatch(/; Secure$/);

    // The session lives in Redis under the prefix, with the session TTL.
    const id = /^conveyor_session=([^.;]+)\./.exec(session)![1]!;
    const ttl = await dash.redis.ttl(sessionKey(prefix, id));
    expect(ttl).toBeGreaterThan(28_700);
    expect(ttl).toBeLessThanOrEqual(28_800);
  });

  it('refuses a wrong password or an unknown user alike, with 401 and the form again', async () => {
    const wrong = await postLogin(dash.url, 'ada', 'not-her-password');
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('Wrong user name or password.');
    expect(wrong.headers.getSetCookie().some((c) => c.startsWith('conveyor_session='))).toBe(false);
    const unknown = await postLogin(dash.url, 'nobody', 'whatever-password');
    expect(unknown.status).toBe(401);
  });

  it('refuses a sign-in form without its CSRF cookie (a cross-site form)', async () => {
    const { csrf } = await loginForm(dash.url);
    const response = await fetch(`${dash.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ user: 'ada', password: 'ada-password', csrf }),
    });
    expect(response.status).toBe(403);
  });

  it('never redirects off-site after sign-in', async () => {
    for (const next of ['//evil.example/', '/\\evil.example', 'https://evil.example/']) {
      const response = await postLogin(dash.url, 'ada', 'ada-password', { next });
      expect(response.headers.get('location'), next).toBe('/');
    }
  });

  it('shares sessions between dashboard processes through Redis, and signing out ends them everywhere', async () => {
    const ada = await signIn(dash.url, 'ada', 'ada-password');
    const onSecond = await fetch(`${second.url}/api/queues`, { headers: { cookie: ada.cookie } });
    expect(onSecond.status).toBe(200);
    const page = await (await fetch(`${second.url}/`, { headers: { cookie: ada.cookie } })).text();
    expect(page).toContain('<span class="who" data-role="operator">ada (operator)</span>');
    expect(page).toContain('<a href="/audit">Audit log</a>');

    const noToken = await fetch(`${second.url}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: ada.cookie } });
    expect(noToken.status).toBe(403);
    const out = await signOut(second.url, ada);
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/login');
    expect(out.headers.getSetCookie()[0]).toMatch(/^conveyor_session=; .*Max-Age=0/);
    expect((await fetch(`${dash.url}/api/queues`, { headers: { cookie: ada.cookie } })).status).toBe(401);
  });

  it('refuses a forged or tampered session cookie', async () => {
    const ada = await signIn(dash.url, 'ada', 'ada-password');
    const [id] = ada.cookie.slice('conveyor_session='.length).split('.');
    const forged = `conveyor_session=${id}.${'A'.repeat(43)}`;
    expect((await fetch(`${dash.url}/api/queues`, { headers: { cookie: forged } })).status).toBe(401);
  });

  it('accepts HTTP Basic on every route; Basic writes need X-Requested-By (or the token)', async () => {
    expect((await fetch(`${dash.url}/api/queues`, { headers: { authorization: ops } })).status).toBe(200);
    expect((await fetch(`${dash.url}/api/queues`, { headers: { authorization: basic('ada', 'wrong-password') } })).status).toBe(401);

    const pause = `${dash.url}/queues/api/queues/report/pause`;
    const bare = await fetch(pause, { method: 'PUT', headers: { authorization: ops } });
    expect(bare.status).toBe(403);
    expect(((await bare.json()) as { error: { code: string } }).error.code).toBe('csrf_failed');
    expect(await dash.queues.get('report').isPaused()).toBe(false);

    const scripted = await fetch(pause, { method: 'PUT', headers: { authorization: ops, 'x-requested-by': 'ops-script' } });
    expect(scripted.status).toBe(200);
    expect(await dash.queues.get('report').isPaused()).toBe(true);
    await dash.queues.get('report').resume();
  });

  it('gives viewers a read-only bull-board and 403 on every change and on the audit log', async () => {
    const bob = await signIn(dash.url, 'bob', 'bob-password');
    const queues = (await (await fetch(`${dash.url}/queues/api/queues`, { headers: { cookie: bob.cookie } })).json()) as {
      queues: { name: string; readOnlyMode: boolean }[];
    };
    expect(queues.queues.every((q) => q.readOnlyMode)).toBe(true);

    const pause = await fetch(`${dash.url}/queues/api/queues/email/pause`, {
      method: 'PUT',
      headers: { cookie: bob.cookie, 'x-csrf-token': bob.csrf, origin: dash.url },
    });
    expect(pause.status).toBe(403);
    expect(((await pause.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    expect(await dash.queues.get('email').isPaused()).toBe(false);

    expect((await fetch(`${dash.url}/api/audit`, { headers: { cookie: bob.cookie } })).status).toBe(403);
    const page = await (await fetch(`${dash.url}/`, { headers: { cookie: bob.cookie } })).text();
    expect(page).toContain('bob (viewer)');
    expect(page).not.toContain('href="/audit"');

    // Operators get the full board; both get its page.
    const ada = await signIn(dash.url, 'ada', 'ada-password');
    for (const who of [bob, ada]) {
      const board = await fetch(`${dash.url}/queues`, { headers: { cookie: who.cookie, accept: 'text/html' } });
      expect(board.status).toBe(200);
      expect(await board.text()).toContain('<title>Conveyor</title>');
    }
    const full = (await (await fetch(`${dash.url}/queues/api/queues`, { headers: { cookie: ada.cookie } })).json()) as {
      queues: { name: string; readOnlyMode: boolean }[];
    };
    expect(full.queues.find((q) => q.name === 'email')?.readOnlyMode).toBe(false);
  });

  it("accepts bull-board's own same-origin requests, and refuses cross-origin ones without the token", async () => {
    const ada = await signIn(dash.url, 'ada', 'ada-password');
    const pause = `${dash.url}/queues/api/queues/webhook/pause`;
    const cross = await fetch(pause, { method: 'PUT', headers: { cookie: ada.cookie, origin: 'http://evil.example' } });
    expect(cross.status).toBe(403);
    expect(await dash.queues.get('webhook').isPaused()).toBe(false);
    const same = await fetch(pause, { method: 'PUT', headers: { cookie: ada.cookie, origin: dash.url } });
    expect(same.status).toBe(200);
    expect(await dash.queues.get('webhook').isPaused()).toBe(true);
    const withToken = await fetch(`${dash.url}/queues/api/queues/webhook/resume`, { method: 'PUT', headers: { cookie: ada.cookie, 'x-csrf-token': ada.csrf } });
    expect(withToken.status).toBe(200);
    expect(await dash.queues.get('webhook').isPaused()).toBe(false);
    // Our own routes want the token itself: a same-origin header is not enough there.
    expect((await fetch(`${dash.url}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: ada.cookie, origin: dash.url } })).status).toBe(403);
  });

  it('audits sign-ins, failures, sign-outs and operator actions with who, what, which jobs and the outcome', async () => {
    const email = dash.queues.get('email');
    await email.add('email.send', { to: 'a@example.com', subject: 's', body: 'b' }, { jobId: 'audit-me', delay: 60_000 });
    const ada = await signIn(dash.url, 'ada', 'ada-password');
    await postLogin(dash.url, 'ada', 'bad-password');
    const promote = await fetch(`${dash.url}/queues/api/queues/email/audit-me/promote`, { method: 'PUT', headers: { cookie: ada.cookie, origin: dash.url } });
    expect(promote.status).toBe(204);

    const entries = await waitFor(async () => {
      const all = await auditEntries(dash.url, ops);
      return all.some((e) => e.action === 'job.promote') ? all : undefined;
    }, { what: 'the promote in the audit log' });
    expect(entries.find((e) => e.action === 'job.promote')).toMatchObject({
      user: 'ada', via: 'session', method: 'PUT', path: '/queues/api/queues/email/audit-me/promote', queue: 'email', jobs: 'audit-me', status: 204,
    });
    expect(entries.find((e) => e.action === 'login.failed')).toMatchObject({ user: 'ada', via: 'none', status: 401 });
    expect(entries.find((e) => e.action === 'login')).toMatchObject({ user: 'ada', via: 'session' });
    expect(entries.find((e) => e.action === 'queue.pause' && e.via === 'basic')).toMatchObject({ user: 'ada', queue: 'report', status: 200 });
    expect(entries.find((e) => e.action === 'queue.pause' && e.user === 'bob')).toMatchObject({ status: 403 });
    expect(entries.find((e) => e.action === 'logout')).toMatchObject({ user: 'ada' });
    for (const entry of entries) expect(Date.parse(entry.at)).not.toBeNaN();
    expect(await dash.redis.xlen(auditKey(prefix))).toBe((await auditEntries(dash.url, ops)).length);

    const page = await (await fetch(`${dash.url}/audit`, { headers: { cookie: ada.cookie } })).text();
    expect(page).toMatch(/<tr data-action="job.promote">[\s\S]*?audit-me[\s\S]*?<\/tr>/);
  });

  it('limits failed sign-ins per IP and user name, answering 429', async () => {
    let last = 0;
    for (let i = 0; i < 11; i++) last = (await postLogin(dash.url, 'carol', `wrong-${i}`)).status;
    expect(last).toBe(429);
    // Another name from the same IP is not affected.
    expect((await postLogin(dash.url, 'bob', 'bob-password')).status).toBe(303);
  });
});

describe('dashboard access with no users configured', () => {
  const prefix = testPrefix('local');
  let dash: DashboardFixture;

  beforeAll(async () => {
    dash = await startDashboard({ redisUrl, prefix });
  });

  afterAll(async () => {
    await dash?.close();
  });

  it('treats every caller as operator "local" and says so on every page', async () => {
    for (const path of ['/', '/audit', '/no-such-page']) {
      const page = await (await fetch(`${dash.url}${path}`, { headers: { accept: 'text/html' } })).text();
      expect(page, path).toContain('<p class="banner access-warning" role="alert">No users configured: anyone on this machine has operator access</p>');
    }
    expect((await fetch(`${dash.url}/login`, { redirect: 'manual' })).status).toBe(302);
  });

  it('still wants a CSRF defence for changes, and audits them as local', async () => {
    const pause = `${dash.url}/queues/api/queues/report/pause`;
    expect((await fetch(pause, { method: 'PUT', headers: { origin: 'http://evil.example' } })).status).toBe(403);
    expect(await dash.queues.get('report').isPaused()).toBe(false);
    expect((await fetch(pause, { method: 'PUT', headers: { 'x-requested-by': 'cli' } })).status).toBe(200);
    const csrf = await pageCsrf(dash.url, '');
    expect((await fetch(`${dash.url}/queues/api/queues/report/resume`, { method: 'PUT', headers: { 'x-csrf-token': csrf } })).status).toBe(200);

    const entries = await waitFor(async () => {
      const all = ((await (await fetch(`${dash.url}/api/audit`)).json()) as { entries: AuditEntry[] }).entries;
      return all.some((e) => e.action === 'queue.resume') ? all : undefined;
    }, { what: 'the resume in the audit log' });
    expect(entries.find((e) => e.action === 'queue.pause' && e.status === 200)).toMatchObject({ user: 'local', via: 'local', queue: 'report' });
  });
});
