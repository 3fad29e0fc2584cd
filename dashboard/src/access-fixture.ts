/**
 * Test fixture: signing in to a dashboard over HTTP as a browser would (GET /login for the
 * form's token, POST the form, keep the session cookie, read the page's CSRF token). Never
 * imported by app code.
 */
import { hashPassword } from './access/password-hash.ts';
import { parseDashboardUsers, type DashboardUser } from './access/users.ts';

/** A signed-in browser: send `cookie` on every request and `csrf` on state-changing ones. */
export interface SignedIn {
  cookie: string;
  csrf: string;
  /** The raw Set-Cookie of the session. */
  setCookie: string;
}

/** Users for tests, hashed at the lowest cost the parser accepts (fast, still real scrypt). */
export async function testUsers(entries: Record<string, { role: 'viewer' | 'operator'; password: string }>): Promise<DashboardUser[]> {
  const lines = await Promise.all(
    Object.entries(entries).map(async ([name, { role, password }]) => `${name}:${role}:${await hashPassword(password, { N: 1_024 })}`),
  );
  return parseDashboardUsers(lines.join(','));
}

function cookiePair(setCookie: string): string {
  return setCookie.split(';')[0]!;
}

/** The sign-in form's token and its cookie, as a browser gets them from GET /login. */
export async function loginForm(url: string): Promise<{ csrf: string; cookie: string }> {
  const page = await fetch(`${url}/login`);
  const html = await page.text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  const setCookie = page.headers.getSetCookie().find((c) => c.startsWith('conveyor_login_csrf='));
  if (!csrf || !setCookie) throw new Error(`no sign-in form at ${url}/login (${page.status})`);
  return { csrf, cookie: cookiePair(setCookie) };
}

/** POSTs the sign-in form; returns the raw response (303 on success). */
export async function postLogin(url: string, user: string, password: string, extra: { next?: string } = {}): Promise<Response> {
  const form = await loginForm(url);
  return fetch(`${url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: form.cookie },
    body: new URLSearchParams({ user, password, csrf: form.csrf, ...(extra.next ? { next: extra.next } : {}) }),
  });
}

/** The CSRF token a page carries in `<meta name="csrf-token">`. */
export async function pageCsrf(url: string, cookie: string): Promise<string> {
  const page = await (await fetch(`${url}/`, { headers: { cookie } })).text();
  const csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(page)?.[1];
  if (!csrf) throw new Error('no csrf-token meta on the overview');
  return csrf;
}

export async function signIn(url: string, user: string, password: string): Promise<SignedIn> {
  const response = await postLogin(url, user, password);
  const setCookie = response.headers.getSetCookie().find((c) => c.startsWith('conveyor_session='));
  if (response.status !== 303 || !setCookie) throw new Error(`sign-in as ${user} failed: ${response.status}`);
  const cookie = cookiePair(setCookie);
  return { cookie, setCookie, csrf: await pageCsrf(url, cookie) };
}

/** Signs a session out the way the page's form does (`POST /logout` with its CSRF token); the answer as is. */
export function signOut(url: string, session: SignedIn): Promise<Response> {
  return fetch(`${url}/logout`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: session.csrf }),
  });
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
