/**
 * Who is calling, and may they? Every route but the public ones (/healthz, /readyz, /metrics,
 * /login, /assets) runs `requireAccess(level)` first:
 *
 * 1. Identify the caller: no users configured → operator `local`; an `Authorization: Basic`
 *    header → that user if the password matches (else 401, and an audit entry); a valid
 *    session cookie → its user, with the role the configuration gives now.
 * 2. Nobody: a browser asking for a page is sent to /login?next=…; anything else gets 401
 *    `unauthorized`, with `WWW-Authenticate: Basic` unless it came from a browser (which would
 *    pop up a password dialog over bull-board).
 * 3. A state-changing request is audited when it ends, whatever its outcome.
 * 4. A viewer on an operator route: 403 `forbidden`.
 * 5. A state-changing request without a CSRF defence (csrf.ts): 403 `csrf_failed`.
 */
import type { Request, RequestHandler, Response } from 'express';
import { HttpError, prefersHtml } from '../http-error.ts';
import { currentPageContext } from '../ui/page-context.ts';
import type { AuditLog } from './audit-log.ts';
import { readCookie, SESSION_COOKIE } from './cookies.ts';
import { passesCsrf, pathOf, SAFE_METHODS } from './csrf.ts';
import type { LoginLimiter } from './login-limiter.ts';
import { dummyPasswordHash, verifyPassword } from './password-hash.ts';
import { describeRequest } from './request-action.ts';
import { passwordTag, type SessionStore } from './session-store.ts';
import type { DashboardUser, Role } from './users.ts';

/** What a route needs: nothing, a signed-in user, or an operator. */
export type Access = 'public' | 'viewer' | 'operator';

export interface Principal {
  user: string;
  role: Role;
  /** How the caller proved who they are. */
  via: 'session' | 'basic' | 'local';
  /** The token its state-changing requests must carry (csrf.ts). */
  csrfToken: string;
  /** The session, when `via` is `session`. */
  sessionId?: string;
}

/** The name every request acts under in no-users mode. */
export const LOCAL_USER = 'local';
export const BASIC_REALM = 'Basic realm="conveyor-dashboard", charset="UTF-8"';

export interface AccessControlOptions {
  /** Configured users; none means no-users mode. */
  users: readonly DashboardUser[];
  sessions: SessionStore;
  audit: AuditLog;
  limiter: LoginLimiter;
  /** Where bull-board's API is mounted, e.g. `/queues/api`. */
  boardApiPath: string;
}

export interface AccessControl {
  /** No users configured: every caller is operator `local`. */
  localMode: boolean;
  /** Middleware: identify the caller and require `access` (or the level the function picks for the request). */
  requireAccess(access: Access | ((req: Request) => Access)): RequestHandler;
  /** The configured user whose password this is; the same time is spent on unknown names. */
  checkPassword(name: string, password: string): Promise<DashboardUser | undefined>;
  /**
   * Whether the caller `requireAccess` let in may still be served, for a response that outlives
   * its request (an event stream): a session must still exist (not signed out, not expired) and
   * match its user's password; a Basic user must still be configured with that role. Throws
   * RedisUnavailableError when the session cannot be read.
   */
  stillAdmitted(req: Request, principal: Principal): Promise<boolean>;
  sessions: SessionStore;
  audit: AuditLog;
  limiter: LoginLimiter;
}

const rank: Record<Access, number> = { public: 0, viewer: 1, operator: 2 };

/** The caller `requireAccess` identified for this request. */
export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('principalOf() before requireAccess()');
  return principal;
}

/**
 * A request a browser made (it would show a password dialog for `WWW-Authenticate`): it sends
 * `Origin` on fetches, our cookie, or asks for HTML. (Not Sec-Fetch-Mode: Node's fetch sends it
 * too, and browsers send none over plain http.)
 */
export function fromBrowser(req: Request): boolean {
  return Boolean(req.get('origin') || readCookie(req, SESSION_COOKIE) !== undefined || prefersHtml(req));
}

/** The `user:password` of an `Authorization: Basic` header, if there is one. */
export function basicCredentials(req: Request): { user: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.get('authorization') ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function createAccessControl(options: AccessControlOptions): AccessControl {
  const { users, sessions, audit, limiter, boardApiPath } = options;
  const byName = new Map(users.map((user) => [user.name, user]));
  const dummy = dummyPasswordHash();
  const localMode = users.length === 0;

  async function checkPassword(name: string, password: string): Promise<DashboardUser | undefined> {
    const user = byName.get(name);
    const matches = await verifyPassword(password, user?.hash ?? dummy);
    return user && matches ? user : undefined;
  }

  function unauthorized(req: Request, message: string): HttpError {
    return new HttpError(401, 'unauthorized', message, undefined, fromBrowser(req) ? {} : { 'WWW-Authenticate': BASIC_REALM });
  }

  async function identify(req: Request): Promise<Principal | undefined> {
    if (localMode) return { user: LOCAL_USER, role: 'operator', via: 'local', csrfToken: sessions.csrfToken('local') };
    const basic = basicCredentials(req);
    if (basic) {
      const ip = req.ip ?? '';
      const wait = await limiter.retryAfterSec(ip, basic.user);
      if (wait > 0) {
        throw new HttpError(429, 'too_many_attempts', 'Too many failed sign-ins; try again later', undefined, { 'Retry-After': String(wait) });
      }
      const user = await checkPassword(basic.user, basic.password);
      if (!user) {
        await limiter.failed(ip, basic.user);
        await audit.record({ user: basic.user, via: 'basic', action: 'login.failed', method: req.method, path: pathOf(req), status: 401, ip });
        throw unauthorized(req, 'Wrong user name or password');
      }
      return { user: user.name, role: user.role, via: 'basic', csrfToken: sessions.csrfToken(`basic:${user.name}`) };
    }
    return identifySession(req);
  }

  /** The session the request's cookie names, while it exists and its user's password is unchanged. */
  async function identifySession(req: Request): Promise<Principal | undefined> {
    const cookie = readCookie(req, SESSION_COOKIE);
    if (!cookie) return undefined;
    const session = await sessions.read(cookie);
    const user = session && byName.get(session.record.user);
    if (!session || !user || passwordTag(user.hash) !== session.record.passwordTag) return undefined;
    return { user: user.name, role: user.role, via: 'session', csrfToken: sessions.csrfToken(session.id), sessionId: session.id };
  }

  function auditWhenDone(req: Request, res: Response, principal: Principal): void {
    const path = pathOf(req);
    const { method } = req;
    const ip = req.ip ?? '';
    // 'close' fires for answered and abandoned requests alike; an abandoned one has no status.
    res.once('close', () => {
      if (res.locals.audited === true) return;
      const status = res.headersSent ? { status: res.statusCode } : {};
      void audit.record({ ...describeRequest(method, path, boardApiPath), user: principal.user, via: principal.via, method, path, ...status, ip });
    });
  }

  function requireAccess(access: Access | ((req: Request) => Access)): RequestHandler {
    return async (req, res, next) => {
      const needed = typeof access === 'function' ? access(req) : access;
      if (needed === 'public') return next();
      let principal = res.locals.principal as Principal | undefined;
      if (!principal) {
        principal = await identify(req);
        if (!principal) {
          if (SAFE_METHODS.has(req.method) && prefersHtml(req)) {
            res.redirect(302, `/login?next=${encodeURIComponent(req.originalUrl)}`);
            return;
          }
          throw unauthorized(req, 'Sign in at /login, or send HTTP Basic credentials');
        }
        res.locals.principal = principal;
        const page = currentPageContext();
        if (page) Object.assign(page, { user: { name: principal.user, role: principal.role, via: principal.via }, csrfToken: principal.csrfToken });
        if (!SAFE_METHODS.has(req.method)) auditWhenDone(req, res, principal);
      }
      if (rank[principal.role] < rank[needed]) {
        throw new HttpError(403, 'forbidden', `${req.method} ${pathOf(req)} needs the ${needed} role; ${principal.user} is a ${principal.role}`);
      }
      if (!SAFE_METHODS.has(req.method) && !passesCsrf(req, principal, boardApiPath)) {
        throw new HttpError(403, 'csrf_failed', 'This request needs the CSRF token (X-CSRF-Token header or _csrf field)', {
          hint: 'reload the page; scripts using Basic auth send an X-Requested-By header',
        });
      }
      next();
    };
  }

  async function stillAdmitted(req: Request, principal: Principal): Promise<boolean> {
    if (principal.via === 'local') return localMode;
    if (principal.via === 'basic') return byName.get(principal.user)?.role === principal.role;
    const again = await identifySession(req);
    return again !== undefined && again.sessionId === principal.sessionId && again.role === principal.role;
  }

  return { localMode, requireAccess, checkPassword, stillAdmitted, sessions, audit, limiter };
}
