/** The few cookie operations the dashboard needs (Express 5 parses none): read one, write one. */
import type { Request, Response } from 'express';

/** The session cookie: a signed session id (session-store.ts). */
export const SESSION_COOKIE = 'conveyor_session';
/** The sign-in form's CSRF cookie, compared with the form's hidden field (double submit). */
export const LOGIN_CSRF_COOKIE = 'conveyor_login_csrf';

export function readCookie(req: Request, name: string): string | undefined {
  for (const pair of (req.get('cookie') ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(pair.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export interface CookieOptions {
  /** Lifetime in s; 0 deletes the cookie; unset, it lasts until the browser closes. */
  maxAgeSec?: number;
  secure: boolean;
}

/** Sets an `HttpOnly; SameSite=Strict; Path=/` cookie, `Secure` when asked. */
export function writeCookie(res: Response, name: string, value: string, options: CookieOptions): void {
  const attributes = [`${name}=${encodeURIComponent(value)}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (options.maxAgeSec !== undefined) attributes.push(`Max-Age=${options.maxAgeSec}`);
  if (options.secure) attributes.push('Secure');
  res.append('Set-Cookie', attributes.join('; '));
}

/** Whether the request reached us over https: TLS here, or a proxy saying so. */
export function cameOverHttps(req: Request): boolean {
  return req.secure || req.get('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https';
}
