/**
 * Signing in and out (access/session-store.ts keeps the sessions):
 *
 *   GET  /login   the form, with a fresh sign-in CSRF token in a SameSite=Strict cookie and a
 *                 hidden field (double submit: a cross-site form cannot send the cookie)
 *   POST /login   form `user`, `password`, `csrf`, `next`: on success a session cookie and 303
 *                 to `next`; a wrong password re-renders the form with 401; too many failures
 *                 for this IP and name answer 429. Every attempt is audited.
 *   POST /logout  (any signed-in user, CSRF token needed) ends the session; 303 to /login.
 *
 * In no-users mode there is nobody to sign in: both go to the overview.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { principalOf } from '../access/access-control.ts';
import { cameOverHttps, LOGIN_CSRF_COOKIE, readCookie, SESSION_COOKIE, writeCookie } from '../access/cookies.ts';
import { HttpError } from '../http-error.ts';
import { renderLoginPage } from '../ui/login-page.ts';
import type { RouteContext } from './route.ts';

const loginForm = z.object({
  user: z.string().max(64),
  password: z.string().max(1_024),
  csrf: z.string().max(128),
  next: z.string().max(2_048).optional(),
});

/** `next` if it is a path on this site, else `/` (no open redirect to `//evil` or `/\evil`). */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])/.test(next) && !/[\r\n]/.test(next) ? next : '/';
}

function secure(context: RouteContext, req: Request): boolean {
  return context.cookieSecure === 'auto' ? cameOverHttps(req) : context.cookieSecure;
}

function sameText(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function sendLoginPage(context: RouteContext, req: Request, res: Response, status: number, form: { next: string; error?: string; user?: string }): void {
  const csrf = randomBytes(24).toString('base64url');
  writeCookie(res, LOGIN_CSRF_COOKIE, csrf, { maxAgeSec: 3_600, secure: secure(context, req) });
  res.status(status).set('Cache-Control', 'no-store').type('html').send(renderLoginPage({ csrf, ...form }));
}

export function loginPage(context: RouteContext): RequestHandler {
  return (req, res) => {
    const next = safeNext(req.query.next);
    if (context.access.localMode) return res.redirect(302, next);
    sendLoginPage(context, req, res, 200, { next });
  };
}

export function login(context: RouteContext): RequestHandler {
  const { access } = context;
  return async (req, res) => {
    if (access.localMode) return res.redirect(303, '/');
    const parsed = loginForm.safeParse(req.body ?? {});
    if (!parsed.success) throw new HttpError(400, 'bad_request', 'expected a form with user, password and csrf');
    const { user: name, password, csrf } = parsed.data;
    const next = safeNext(parsed.data.next);
    const expected = readCookie(req, LOGIN_CSRF_COOKIE);
    if (!expected || !sameText(csrf, expected)) {
      throw new HttpError(403, 'csrf_failed', 'The sign-in form expired or came from another site; reload /login and try again');
    }
    const ip = req.ip ?? '';
    const wait = await access.limiter.retryAfterSec(ip, name);
    if (wait > 0) {
      await access.audit.record({ user: name, via: 'none', action: 'login.refused', method: 'POST', path: '/login', status: 429, ip });
      throw new HttpError(429, 'too_many_attempts', `Too many failed sign-ins for ${name}; try again in ${wait} s`, undefined, { 'Retry-After': String(wait) });
    }
    const user = await access.checkPassword(name, password);
    if (!user) {
      await access.limiter.failed(ip, name);
      await access.audit.record({ user: name, via: 'none', action: 'login.failed', method: 'POST', path: '/login', status: 401, ip });
      return sendLoginPage(context, req, res, 401, { next, user: name, error: 'Wrong user name or password.' });
    }
    await access.limiter.succeeded(ip, name);
    const session = await access.sessions.create(user.name, user.hash);
    writeCookie(res, SESSION_COOKIE, session.cookie, { secure: secure(context, req) });
    writeCookie(res, LOGIN_CSRF_COOKIE, '', { maxAgeSec: 0, secure: secure(context, req) });
    await access.audit.record({ user: user.name, via: 'session', action: 'login', method: 'POST', path: '/login', status: 303, ip });
    res.redirect(303, next);
  };
}

export function logout(context: RouteContext): RequestHandler {
  const { access } = context;
  return async (req, res) => {
    const principal = principalOf(res);
    if (access.localMode) return res.redirect(303, '/');
    res.locals.audited = true;
    if (principal.sessionId) await access.sessions.destroy(principal.sessionId);
    writeCookie(res, SESSION_COOKIE, '', { maxAgeSec: 0, secure: secure(context, req) });
    await access.audit.record({ user: principal.user, via: principal.via, action: 'logout', method: 'POST', path: '/logout', status: 303, ip: req.ip ?? '' });
    res.redirect(303, '/login');
  };
}
