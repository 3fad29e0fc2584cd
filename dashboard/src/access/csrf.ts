/**
 * CSRF defence for every state-changing request (anything but GET, HEAD, OPTIONS). One of:
 *
 * 1. The caller's token, in the `X-CSRF-Token` header or a form's `_csrf` field. Pages carry it
 *    (`<meta name="csrf-token">`, hidden fields); it is HMAC(secret, session id).
 * 2. Under bull-board's API (`/queues/api/…`) only, a same-origin browser request:
 *    `Sec-Fetch-Site: same-origin`, or an `Origin` whose host is this request's `Host`.
 *    bull-board's front-end cannot send our token, and browsers always send `Origin` on
 *    cross-origin PUT/POST/PATCH/DELETE (Sec-Fetch-* only over https). The session cookie is
 *    SameSite=Strict, so a cross-site page cannot ride on it at all; the origin check also
 *    stops same-site pages on other ports or subdomains.
 * 3. For callers without a cookie — HTTP Basic, or no-users mode — a non-empty
 *    `X-Requested-By` header. A browser that cached Basic credentials sends them on
 *    cross-site requests too, but a cross-site page can add a custom header only through a
 *    CORS preflight, which this server never grants; scripts just add the header.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';

export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface CsrfSubject {
  via: 'session' | 'basic' | 'local';
  csrfToken: string;
}

function equalText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The request's path without its query, whatever router it is in. */
export function pathOf(req: Request): string {
  return req.originalUrl.split('?')[0]!;
}

/** True for a browser request from this dashboard's own pages. */
export function isSameOrigin(req: Request): boolean {
  if (req.get('sec-fetch-site') === 'same-origin') return true;
  const origin = req.get('origin');
  const host = req.get('host');
  if (!origin || origin === 'null' || !host) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/** Whether a state-changing request carries a CSRF defence (see the file comment). */
export function passesCsrf(req: Request, subject: CsrfSubject, boardApiPath: string): boolean {
  const body = req.body as Record<string, unknown> | undefined;
  const token = req.get('x-csrf-token') ?? (typeof body?._csrf === 'string' ? body._csrf : undefined);
  if (token !== undefined && equalText(token, subject.csrfToken)) return true;
  if (pathOf(req).startsWith(`${boardApiPath}/`) && isSameOrigin(req)) return true;
  return subject.via !== 'session' && (req.get('x-requested-by') ?? '').trim().length > 0;
}
